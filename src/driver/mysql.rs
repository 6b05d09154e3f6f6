//! MySQL driver (placeholder)
