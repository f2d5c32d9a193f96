//! Helpers mirroring `autobahn.util`.
