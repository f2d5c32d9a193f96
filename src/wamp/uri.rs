//! WAMP URI validation (basic profile "URIs", advanced profile pattern-based
//! subscriptions/registrations), written by hand instead of with regexes.
//!
//! The spec gives four regular expressions; [`UriCheck`] selects one:
//!
//! | `strict` | `allow_empty` | spec regex |
//! |---|---|---|
//! | no  | no  | `^([^\s\.#]+\.)*([^\s\.#]+)$` |
//! | no  | yes | `^(([^\s\.#]+\.)\|\.)*([^\s\.#]+)?$` |
//! | yes | no  | `^([0-9a-z_]+\.)*([0-9a-z_]+)$` |
//! | yes | yes | `^(([0-9a-z_]+\.)\|\.)*([0-9a-z_]+)?$` |
//!
//! `allow_last_empty` (Autobahn's variant for prefix patterns such as
//! `com.myapp.`) only lets the *last* component be empty.
//!
//! Like the regexes, the "empty components allowed" variants accept the empty
//! string (a single empty component).

use thiserror::Error;

/// Which URI rules to apply. The default is the loose rule without empty
/// components, which every URI in a WAMP message must follow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct UriCheck {
    /// Components may only contain `[0-9a-z_]` (recommended by the spec).
    pub strict: bool,
    /// Any component may be empty (wildcard patterns).
    pub allow_empty: bool,
    /// The last component may be empty (prefix patterns like `com.myapp.`).
    pub allow_last_empty: bool,
}

impl UriCheck {
    /// Loose rules, no empty components: what every concrete URI must satisfy.
    pub const LOOSE: UriCheck = UriCheck {
        strict: false,
        allow_empty: false,
        allow_last_empty: false,
    };
    /// Strict rules, no empty components.
    pub const STRICT: UriCheck = UriCheck {
        strict: true,
        allow_empty: false,
        allow_last_empty: false,
    };
    /// Loose rules for wildcard patterns (empty components allowed).
    pub const LOOSE_WILDCARD: UriCheck = UriCheck {
        strict: false,
        allow_empty: true,
        allow_last_empty: false,
    };
    /// Loose rules for prefix patterns (last component may be empty).
    pub const LOOSE_PREFIX: UriCheck = UriCheck {
        strict: false,
        allow_empty: false,
        allow_last_empty: true,
    };

    /// The check for a topic or procedure used with the given `match` option
    /// (`"exact"`/absent, `"prefix"`, `"wildcard"`), loose rules.
    pub fn for_match_policy(policy: Option<&str>) -> UriCheck {
        match policy {
            Some("wildcard") => UriCheck::LOOSE_WILDCARD,
            Some("prefix") => UriCheck::LOOSE_PREFIX,
            _ => UriCheck::LOOSE,
        }
    }
}

/// Why a URI was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UriError {
    /// A component (0-based index) is empty where that is not allowed.
    #[error("URI component {index} is empty")]
    EmptyComponent {
        /// 0-based index of the component.
        index: usize,
    },
    /// A character not allowed in a component, at the given byte offset.
    #[error("URI contains invalid character {ch:?} at byte {offset}")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Byte offset in the URI.
        offset: usize,
    },
}

/// Whitespace as Python's `\s` sees it (Unicode whitespace plus the ASCII
/// separators 0x1C..0x1F that `str.isspace` also counts).
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn allowed(c: char, strict: bool) -> bool {
    if strict {
        matches!(c, '0'..='9' | 'a'..='z' | '_')
    } else {
        c != '#' && !is_space(c)
    }
}

/// Validate `uri` under the rules selected by `check` (one pass, no
/// allocation: this runs for every URI in every received message).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::uri::{is_reserved_uri, is_valid_uri, validate_uri, UriCheck};
///
/// validate_uri("com.myapp.add2", UriCheck::STRICT)?;
/// assert!(!is_valid_uri("com.MyApp.add", UriCheck::STRICT)); // strict: [0-9a-z_] only
/// assert!(is_valid_uri("com.MyApp.add", UriCheck::LOOSE));
/// assert!(validate_uri("com..add", UriCheck::LOOSE).is_err());
/// assert!(is_valid_uri("com..add", UriCheck::for_match_policy(Some("wildcard"))));
/// assert!(is_reserved_uri("wamp.session.list"));
/// # Ok::<(), autobahn::wamp::uri::UriError>(())
/// ```
pub fn validate_uri(uri: &str, check: UriCheck) -> Result<(), UriError> {
    let mut index = 0;
    let mut empty = true;
    for (offset, ch) in uri.char_indices() {
        if ch == '.' {
            if empty && !check.allow_empty {
                return Err(UriError::EmptyComponent { index });
            }
            index += 1;
            empty = true;
        } else if allowed(ch, check.strict) {
            empty = false;
        } else {
            return Err(UriError::InvalidChar { ch, offset });
        }
    }
    if empty && !(check.allow_empty || check.allow_last_empty) {
        return Err(UriError::EmptyComponent { index });
    }
    Ok(())
}

/// `true` if `uri` passes [`validate_uri`].
pub fn is_valid_uri(uri: &str, check: UriCheck) -> bool {
    validate_uri(uri, check).is_ok()
}

/// `true` if `uri` is in the `wamp.` namespace reserved for the protocol
/// itself (application URIs must not use it).
pub fn is_reserved_uri(uri: &str) -> bool {
    uri == "wamp" || uri.starts_with("wamp.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const WILD_STRICT: UriCheck = UriCheck {
        strict: true,
        allow_empty: true,
        allow_last_empty: false,
    };

    #[test]
    fn loose_accepts_spec_examples() {
        for uri in [
            "com.myapp.mytopic1",
            "com.myapp.myprocedure1",
            "wamp.error.not_authorized",
            "a",
            "Com.MyApp.Topic-1",
            "com.myapp.ü",
            "x:y/z",
        ] {
            assert_eq!(validate_uri(uri, UriCheck::LOOSE), Ok(()), "{uri}");
        }
    }

    #[test]
    fn loose_rejects() {
        assert_eq!(
            validate_uri("", UriCheck::LOOSE),
            Err(UriError::EmptyComponent { index: 0 })
        );
        assert_eq!(
            validate_uri("com..topic", UriCheck::LOOSE),
            Err(UriError::EmptyComponent { index: 1 })
        );
        assert_eq!(
            validate_uri(".com", UriCheck::LOOSE),
            Err(UriError::EmptyComponent { index: 0 })
        );
        assert_eq!(
            validate_uri("com.", UriCheck::LOOSE),
            Err(UriError::EmptyComponent { index: 1 })
        );
        assert_eq!(
            validate_uri("com.my app", UriCheck::LOOSE),
            Err(UriError::InvalidChar { ch: ' ', offset: 6 })
        );
        assert_eq!(
            validate_uri("com.a#b", UriCheck::LOOSE),
            Err(UriError::InvalidChar { ch: '#', offset: 5 })
        );
        assert!(!is_valid_uri("com.\ttab", UriCheck::LOOSE));
        assert!(!is_valid_uri("com.\u{1f}", UriCheck::LOOSE));
        assert!(!is_valid_uri("com.\u{a0}", UriCheck::LOOSE));
        assert!(!is_valid_uri("com.line\n", UriCheck::LOOSE));
    }

    #[test]
    fn strict_rules() {
        assert!(is_valid_uri("com.myapp.topic_1", UriCheck::STRICT));
        assert!(is_valid_uri("0.a_b", UriCheck::STRICT));
        assert_eq!(
            validate_uri("com.MyApp", UriCheck::STRICT),
            Err(UriError::InvalidChar { ch: 'M', offset: 4 })
        );
        assert!(!is_valid_uri("com.my-app", UriCheck::STRICT));
        assert!(!is_valid_uri("com.ü", UriCheck::STRICT));
        assert!(!is_valid_uri("com..x", UriCheck::STRICT));
    }

    #[test]
    fn empty_components_for_wildcards() {
        for uri in ["com..topic", ".myapp.", "..", "", "com.myapp", "."] {
            assert!(is_valid_uri(uri, UriCheck::LOOSE_WILDCARD), "{uri:?}");
        }
        assert!(!is_valid_uri("com.. x", UriCheck::LOOSE_WILDCARD));
        assert!(is_valid_uri("com..topic", WILD_STRICT));
        assert!(!is_valid_uri("com..Topic", WILD_STRICT));
    }

    #[test]
    fn last_empty_for_prefixes() {
        assert!(is_valid_uri("com.myapp.", UriCheck::LOOSE_PREFIX));
        assert!(is_valid_uri("com.myapp", UriCheck::LOOSE_PREFIX));
        assert_eq!(
            validate_uri("com..x", UriCheck::LOOSE_PREFIX),
            Err(UriError::EmptyComponent { index: 1 })
        );
        assert_eq!(
            validate_uri(".com", UriCheck::LOOSE_PREFIX),
            Err(UriError::EmptyComponent { index: 0 })
        );
    }

    #[test]
    fn match_policy_selection() {
        assert_eq!(UriCheck::for_match_policy(None), UriCheck::LOOSE);
        assert_eq!(UriCheck::for_match_policy(Some("exact")), UriCheck::LOOSE);
        assert_eq!(
            UriCheck::for_match_policy(Some("prefix")),
            UriCheck::LOOSE_PREFIX
        );
        assert_eq!(
            UriCheck::for_match_policy(Some("wildcard")),
            UriCheck::LOOSE_WILDCARD
        );
    }

    #[test]
    fn reserved() {
        assert!(is_reserved_uri("wamp.error.foo"));
        assert!(is_reserved_uri("wamp"));
        assert!(!is_reserved_uri("wampy.foo"));
        assert!(!is_reserved_uri("com.wamp"));
    }
}
