//! Migration sources: a directory (`file://` URLs, `-path`) or files embedded in the
//! binary. The index of versions is built once, in one pass over the names; bodies are
//! read on demand.

pub mod checksum;
pub mod name;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};
use std::path::{Path, PathBuf};

pub use checksum::checksum;
pub use name::{parse as parse_name, Direction, ParsedName};

use crate::error::{Error, Result, SourceError, UrlKind};

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The VERSION part of `VERSION_NAME.up.sql`.
    pub version: u64,
    /// The NAME part of `VERSION_NAME.up.sql`.
    pub identifier: String,
    /// Whether it is the up or the down file.
    pub direction: Direction,
    /// The file's base name.
    pub name: String,
}

/// The files of one version: an up file, a down file, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The `.up.` file, if there is one.
    pub up: Option<MigrationFile>,
    /// The `.down.` file, if there is one.
    pub down: Option<MigrationFile>,
}

impl Entry {
    /// The file for direction `d`, if there is one.
    pub fn get(&self, d: Direction) -> Option<&MigrationFile> {
        match d {
            Direction::Up => self.up.as_ref(),
            Direction::Down => self.down.as_ref(),
        }
    }
}

#[derive(Debug, Clone)]
enum Location {
    Dir(PathBuf),
    Files(BTreeMap<String, Cow<'static, [u8]>>),
}

/// An opened source: its sorted versions and where to read bodies from.
#[derive(Debug, Clone)]
pub struct Source {
    location: Location,
    entries: BTreeMap<u64, Entry>,
}

/// The versions a planner walks. Implemented by `Source` and by plain sets in tests.
pub trait Versions {
    /// The lowest version.
    fn first(&self) -> Option<u64>;
    /// The version after `v`.
    fn next(&self, v: u64) -> Option<u64>;
    /// The version before `v`.
    fn prev(&self, v: u64) -> Option<u64>;
    /// Whether `v` is one of the versions.
    fn contains(&self, v: u64) -> bool;
}

impl<T> Versions for BTreeMap<u64, T> {
    fn first(&self) -> Option<u64> {
        self.keys().next().copied()
    }
    fn next(&self, v: u64) -> Option<u64> {
        self.range((Excluded(v), Unbounded)).next().map(|(k, _)| *k)
    }
    fn prev(&self, v: u64) -> Option<u64> {
        self.range(..v).next_back().map(|(k, _)| *k)
    }
    fn contains(&self, v: u64) -> bool {
        self.contains_key(&v)
    }
}

impl Versions for Source {
    fn first(&self) -> Option<u64> {
        self.entries.first()
    }
    fn next(&self, v: u64) -> Option<u64> {
        self.entries.next(v)
    }
    fn prev(&self, v: u64) -> Option<u64> {
        self.entries.prev(v)
    }
    fn contains(&self, v: u64) -> bool {
        self.entries.contains_key(&v)
    }
}

/// Maps a `file://` URL to a directory as golang-migrate does: `file://<host><path>`,
/// `file:<opaque>`; empty means the working directory; relative paths are made absolute.
fn file_url_path(url: &str) -> Result<PathBuf> {
    // Every message shows the URL with its password redacted.
    let shown = crate::gocompat::quote::quote(&crate::url::redact(url));
    let rest = &url["file:".len()..];
    let raw = rest.strip_prefix("//").unwrap_or(rest);
    // Go's `url.Parse` cuts the `#fragment` first, then the `?query`.
    let raw = raw.split('#').next().unwrap_or("");
    let raw = raw.split('?').next().unwrap_or("");
    let decoded = crate::url::unescape(raw, false).map_err(|reason| Error::SourceOpen {
        url: shown.clone(),
        cause: SourceError::Parse {
            url: shown.clone(),
            reason,
        },
    })?;
    let p = PathBuf::from(decoded);
    if p.as_os_str().is_empty() {
        return std::env::current_dir().map_err(|source| Error::SourceOpen {
            url: shown,
            cause: SourceError::Io {
                path: PathBuf::from("."),
                source,
            },
        });
    }
    Ok(std::path::absolute(&p).unwrap_or(p))
}

/// The directory a `file://` source URL names, without reading it (`migrate validate`).
pub fn dir_from_url(url: &str) -> Result<PathBuf> {
    let scheme = crate::url::scheme(url, UrlKind::Source)?;
    if scheme != "file" {
        return Err(Error::SourceOpen {
            url: crate::gocompat::quote::quote(&crate::url::redact(url)),
            // The "scheme" is all before the first `:`, which may be a query.
            cause: SourceError::UnknownDriver(crate::url::redact(scheme)),
        });
    }
    file_url_path(url)
}

impl Source {
    /// Opens a source URL. Only `file://` exists, as in golang-migrate's CLI.
    pub fn open(url: &str) -> Result<Source> {
        let scheme = crate::url::scheme(url, UrlKind::Source)?;
        let quoted = crate::gocompat::quote::quote(&crate::url::redact(url));
        if scheme != "file" {
            return Err(Error::SourceOpen {
                url: quoted,
                cause: SourceError::UnknownDriver(crate::url::redact(scheme)),
            });
        }
        let dir = file_url_path(url)?;
        Source::from_dir(&dir).map_err(|e| match e {
            Error::SourceOpen { cause, .. } => Error::SourceOpen { url: quoted, cause },
            other => other,
        })
    }

    /// Indexes a directory's direct entries (subdirectories are skipped).
    pub fn from_dir(dir: &Path) -> Result<Source> {
        let wrap = |cause| Error::SourceOpen {
            url: crate::gocompat::quote::quote(&format!("file://{}", dir.display())),
            cause,
        };
        let meta = std::fs::metadata(dir).map_err(|e| {
            wrap(match e.kind() {
                std::io::ErrorKind::NotFound => SourceError::Missing {
                    path: dir.to_path_buf(),
                },
                _ => SourceError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                },
            })
        })?;
        if !meta.is_dir() {
            return Err(wrap(SourceError::NotADirectory {
                path: dir.to_path_buf(),
            }));
        }
        let rd = std::fs::read_dir(dir).map_err(|source| {
            wrap(SourceError::Io {
                path: dir.to_path_buf(),
                source,
            })
        })?;
        let mut names = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|source| {
                wrap(SourceError::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            })?;
            let Ok(name) = ent.file_name().into_string() else {
                continue; // not UTF-8: cannot match the pattern meaningfully
            };
            // Only names that look like migrations cost a stat (to skip directories).
            if parse_name(&name).is_none() {
                continue;
            }
            let is_dir = match ent.file_type() {
                Ok(t) if t.is_dir() => true,
                Ok(t) if t.is_symlink() => std::fs::metadata(ent.path())
                    .map(|m| m.is_dir())
                    .unwrap_or(false),
                _ => false,
            };
            if !is_dir {
                names.push(name);
            }
        }
        let entries = index(names).map_err(wrap)?;
        Ok(Source {
            location: Location::Dir(dir.to_path_buf()),
            entries,
        })
    }

    /// A source over in-memory files (base name, bytes): what embedding uses.
    pub fn from_files<I, N>(files: I) -> Result<Source>
    where
        I: IntoIterator<Item = (N, Cow<'static, [u8]>)>,
        N: Into<String>,
    {
        let map: BTreeMap<String, Cow<'static, [u8]>> =
            files.into_iter().map(|(n, b)| (n.into(), b)).collect();
        let entries = index(map.keys().cloned()).map_err(|cause| Error::SourceOpen {
            url: "\"embedded\"".into(),
            cause,
        })?;
        Ok(Source {
            location: Location::Files(map),
            entries,
        })
    }

    /// The migrations compiled into the binary with `include_dir!` (top-level files only).
    #[cfg(feature = "embed")]
    pub fn embedded(dir: &'static include_dir::Dir<'static>) -> Result<Source> {
        Source::from_files(dir.files().filter_map(|f| {
            let name = f.path().file_name()?.to_str()?.to_string();
            Some((name, Cow::Borrowed(f.contents())))
        }))
    }

    /// Versions with their files, ascending.
    pub fn entries(&self) -> &BTreeMap<u64, Entry> {
        &self.entries
    }

    /// The files of version `v`, if the source has it.
    pub fn entry(&self, v: u64) -> Option<&Entry> {
        self.entries.get(&v)
    }

    /// The newest version in the source.
    pub fn latest(&self) -> Option<u64> {
        self.entries.keys().next_back().copied()
    }

    /// Where the files come from, for messages.
    pub fn describe(&self) -> String {
        match &self.location {
            Location::Dir(p) => p.display().to_string(),
            Location::Files(_) => "embedded migrations".into(),
        }
    }

    /// The directory, when the source is one.
    pub fn dir(&self) -> Option<&Path> {
        match &self.location {
            Location::Dir(p) => Some(p),
            Location::Files(_) => None,
        }
    }

    /// A file's bytes, read now.
    pub fn read(&self, f: &MigrationFile) -> Result<Cow<'_, [u8]>> {
        match &self.location {
            Location::Dir(dir) => {
                // open + read_to_end: no stat per file (start-up reads every applied file
                // to check its checksum).
                use std::io::Read;
                let path = dir.join(&f.name);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                let read_all = |buf: &mut Vec<u8>, chunk: &mut [u8]| -> std::io::Result<()> {
                    let mut file = std::fs::File::open(&path)?;
                    loop {
                        match file.read(chunk) {
                            Ok(0) => return Ok(()),
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                };
                match read_all(&mut buf, &mut chunk) {
                    Ok(()) => Ok(Cow::Owned(buf)),
                    Err(source) => Err(Error::ReadFile { path, source }),
                }
            }
            Location::Files(m) => {
                m.get(&f.name)
                    .map(|b| Cow::Borrowed(&**b))
                    .ok_or_else(|| Error::ReadFile {
                        path: PathBuf::from(&f.name),
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    })
            }
        }
    }

    /// A file's text; migration bodies must be UTF-8.
    pub fn read_text(&self, f: &MigrationFile) -> Result<String> {
        let bytes = self.read(f)?.into_owned();
        // SQLite stops reading SQL at a NUL byte: everything after it would be silently
        // skipped while the version is recorded as applied.
        if let Some(offset) = bytes.iter().position(|b| *b == 0) {
            return Err(Error::NulByte {
                file: f.name.clone(),
                offset,
            });
        }
        String::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
            file: f.name.clone(),
            offset: e.utf8_error().valid_up_to(),
        })
    }
}

/// Builds the version index from base names, visited in name order as golang-migrate
/// does, so the duplicate it reports is the later name.
fn index<I: IntoIterator<Item = String>>(
    names: I,
) -> std::result::Result<BTreeMap<u64, Entry>, SourceError> {
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort_unstable();
    let mut entries: BTreeMap<u64, Entry> = BTreeMap::new();
    for name in names {
        let Some(p) = parse_name(&name) else { continue };
        let e = entries.entry(p.version).or_default();
        let slot = match p.direction {
            Direction::Up => &mut e.up,
            Direction::Down => &mut e.down,
        };
        if slot.is_some() {
            return Err(SourceError::Duplicate(name));
        }
        *slot = Some(MigrationFile {
            version: p.version,
            identifier: p.identifier,
            direction: p.direction,
            name,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A bad escape in a `file://` URL with a password: the error's `parse "..."` part
    /// shows the URL redacted too.
    #[test]
    fn source_url_errors_never_show_the_password() {
        let e = dir_from_url("file://u:secret@host/%zz").expect_err("bad escape");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(
            e.to_string(),
            r#"failed to open source, "file://u:xxxxx@host/%zz": parse "file://u:xxxxx@host/%zz": invalid URL escape "%zz""#
        );
    }

    /// golang-migrate's scheme is everything before the first `:`, so it may hold a
    /// query with a password; the unknown-driver error shows it redacted.
    #[test]
    fn unknown_source_driver_error_redacts_the_scheme() {
        for e in [
            dir_from_url("x?password=secret:").expect_err("unknown driver"),
            Source::open("x?password=secret:").expect_err("unknown driver"),
        ] {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    #[test]
    fn duplicate_is_the_later_name() {
        let e = index(names(&["1_b.up.sql", "1_a.up.sql", "1_a.down.sql"])).err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some("duplicate migration file: 1_b.up.sql".into())
        );
        let e = index(names(&["001_a.up.sql", "1_a.up.sql"])).err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some("duplicate migration file: 1_a.up.sql".into())
        );
    }

    #[test]
    fn walks_versions() -> std::result::Result<(), SourceError> {
        let idx = index(names(&[
            "1_a.up.sql",
            "1_a.down.sql",
            "3_c.up.sql",
            "5_e.down.sql",
            "README.md",
        ]))?;
        assert_eq!(idx.first(), Some(1));
        assert_eq!(idx.next(1), Some(3));
        assert_eq!(idx.next(5), None);
        assert_eq!(idx.prev(3), Some(1));
        assert_eq!(idx.prev(1), None);
        assert!(idx[&5].up.is_none() && idx[&5].down.is_some());
        Ok(())
    }
}
