//! golang-migrate's `database.GenerateAdvisoryLockId`, so that migrate and golang-migrate
//! take the same PostgreSQL advisory lock and the same MySQL `GET_LOCK` name.

/// golang-migrate's salt (`advisoryLockIDSalt`).
const SALT: u32 = 1_486_364_155;

/// `GenerateAdvisoryLockId(database_name, additional...)`: the additional names, then the
/// database name, joined with NUL; CRC-32 (IEEE) times the salt, wrapping at 32 bits.
pub fn advisory_lock_id(database_name: &str, additional: &[&str]) -> u32 {
    let joined = if additional.is_empty() {
        database_name.to_string()
    } else {
        let mut parts: Vec<&str> = additional.to_vec();
        parts.push(database_name);
        parts.join("\0")
    };
    crc32fast::hash(joined.as_bytes()).wrapping_mul(SALT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors from golang-migrate's `util_test.go`.
    #[test]
    fn golang_migrate_vectors() {
        assert_eq!(advisory_lock_id("database_name", &[]), 1_764_327_054);
        assert_eq!(
            advisory_lock_id("database_name", &["schema_name_1"]),
            2_453_313_553
        );
        assert_eq!(
            advisory_lock_id("database_name", &["schema_name_1", "schema_name_2"]),
            3_743_845_847
        );
        // PostgreSQL: schema, table, then the URL path with its slash.
        assert_eq!(
            advisory_lock_id("/mydb", &["public", "schema_migrations"]),
            616_192_132
        );
        assert_eq!(
            advisory_lock_id("mydb", &["public", "schema_migrations"]),
            2_103_762_914
        );
        // MySQL: "<dbname>:<table>".
        assert_eq!(
            advisory_lock_id("mydb:schema_migrations", &[]),
            1_906_445_756
        );
    }
}
