//! The hash maps and sets of writ: std's, with foldhash instead of SipHash.
//!
//! Symbol tables and plan indexes are hashed once per name and looked up once per reference;
//! on a 20,000-step file SipHash was the largest single cost of checking. foldhash is seeded per
//! process, so a file cannot be crafted to make names collide.

pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
