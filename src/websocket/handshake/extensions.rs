//! `Sec-WebSocket-Extensions` parsing (RFC 6455 §9.1).
//!
//! ```text
//! extension-list = 1#extension
//! extension      = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//! A quoted value must be a token once unescaped (§9.1). Empty list elements
//! (`a, , b`) are tolerated as RFC 7230 §7 asks of recipients; the elements of
//! several header lines are concatenated in order.

use super::HandshakeError;
use crate::websocket::types::{is_tchar, Extension};

/// Parses the values of every `Sec-WebSocket-Extensions` header line, in order.
///
/// Malformed syntax is an error (a server answers 400). Whether the extensions are
/// known or acceptable is for the caller to decide.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::handshake::parse_extensions;
///
/// let exts = parse_extensions(["permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"])?;
/// assert_eq!(exts.len(), 2);
/// assert_eq!(exts[0].name, "permessage-deflate");
/// assert_eq!(exts[0].param("client_max_window_bits"), Some(None));
/// assert!(parse_extensions(["permessage-deflate; =1"]).is_err());
/// # Ok::<(), autobahn::websocket::handshake::HandshakeError>(())
/// ```
pub fn parse_extensions<'a, I>(values: I) -> Result<Vec<Extension>, HandshakeError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out = Vec::new();
    for v in values {
        Cursor {
            s: v.as_bytes(),
            pos: 0,
        }
        .parse_list(&mut out)?;
    }
    Ok(out)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

fn err(msg: impl Into<String>) -> HandshakeError {
    HandshakeError::InvalidExtensions(msg.into())
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self, what: &str) -> Result<String, HandshakeError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let t = self.s.get(start..self.pos).unwrap_or_default();
        if t.is_empty() {
            return Err(err(format!("expected {what} at offset {start}")));
        }
        // tchar is ASCII, so this is valid UTF-8.
        Ok(String::from_utf8_lossy(t).into_owned())
    }

    fn quoted(&mut self) -> Result<String, HandshakeError> {
        let start = self.pos;
        self.pos += 1; // opening quote
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None => return Err(err(format!("unterminated quoted string at offset {start}"))),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self
                        .peek()
                        .ok_or_else(|| err("dangling escape in quoted string"))?;
                    value.push(c);
                    self.pos += 1;
                }
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
        if value.is_empty() || !value.iter().all(|&b| is_tchar(b)) {
            return Err(err(format!(
                "quoted parameter value at offset {start} is not a token"
            )));
        }
        Ok(String::from_utf8_lossy(&value).into_owned())
    }

    fn parse_list(&mut self, out: &mut Vec<Extension>) -> Result<(), HandshakeError> {
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let mut ext = Extension::new(self.token("extension name")?);
            loop {
                self.skip_ows();
                match self.peek() {
                    None => {
                        out.push(ext);
                        return Ok(());
                    }
                    Some(b',') => {
                        self.pos += 1;
                        out.push(ext);
                        break;
                    }
                    Some(b';') => {
                        self.pos += 1;
                        self.skip_ows();
                        let name = self.token("parameter name")?;
                        self.skip_ows();
                        let value = if self.peek() == Some(b'=') {
                            self.pos += 1;
                            self.skip_ows();
                            Some(if self.peek() == Some(b'"') {
                                self.quoted()?
                            } else {
                                self.token("parameter value")?
                            })
                        } else {
                            None
                        };
                        ext.params.push((name, value));
                    }
                    Some(c) => {
                        return Err(err(format!(
                            "unexpected byte 0x{c:02x} at offset {}",
                            self.pos
                        )))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(vals: &[&str]) -> Result<Vec<Extension>, HandshakeError> {
        parse_extensions(vals.iter().copied())
    }

    #[test]
    fn rfc7692_offers() {
        let e = p(&[
            "permessage-deflate; client_max_window_bits, permessage-deflate;server_max_window_bits=10",
        ])
        .unwrap();
        assert_eq!(
            e,
            vec![
                Extension::new("permessage-deflate").with_param("client_max_window_bits", None),
                Extension::new("permessage-deflate")
                    .with_param("server_max_window_bits", Some("10".into())),
            ]
        );
    }

    #[test]
    fn quoted_values_whitespace_and_multiple_lines() {
        let e = p(&[" foo ;\ta = \"1\" ; b=\"x\\y\" ", "bar", "", " , baz ,, "]).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].name, "foo");
        assert_eq!(
            e[0].params,
            vec![
                ("a".into(), Some("1".into())),
                ("b".into(), Some("xy".into()))
            ]
        );
        assert_eq!(e[1], Extension::new("bar"));
        assert_eq!(e[2], Extension::new("baz"));
        assert!(p(&[]).unwrap().is_empty());
    }

    #[test]
    fn display_roundtrip() {
        let src = "permessage-deflate; client_max_window_bits=15; server_no_context_takeover";
        let e = p(&[src]).unwrap();
        assert_eq!(e[0].to_string(), src);
        assert_eq!(p(&[&e[0].to_string()]).unwrap(), e);
    }

    #[test]
    fn malformed() {
        for bad in [
            "foo;",
            "foo; =1",
            "foo; a=",
            "foo; a=\"unterminated",
            "foo; a=\"two words\"",
            "foo; a=\"\"",
            "foo; a=\"x\\",
            "foo bar",
            "foo; a=1 2",
            "foo; a=1=2",
            "fo\"o",
            ";a",
            "foo; a=(x)",
            "föo",
        ] {
            let r = p(&[bad]);
            assert!(
                matches!(r, Err(HandshakeError::InvalidExtensions(_))),
                "{bad:?} -> {r:?}"
            );
            assert_eq!(r.unwrap_err().http_status(), 400);
        }
    }
}
