//! Incremental detection of the end of an HTTP/1.x head, with limits, plus
//! httparse wrappers producing owned values.
//!
//! The scanner keeps its position between calls, so feeding a head byte by byte
//! costs O(n) in total, not O(n²) (the tungstenite CVE-2023-43669 pattern), and it
//! counts header lines while scanning so the header array handed to httparse is
//! sized exactly and never beyond the limit.

use super::owned_headers;
use crate::websocket::types::Headers;

/// Errors of head scanning and parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// No end of head within `limit` bytes.
    TooLarge { limit: usize },
    /// More than `limit` header lines.
    TooManyHeaders { limit: usize },
    /// The head is incomplete.
    Malformed(String),
    /// httparse rejected the head.
    Syntax(httparse::Error),
}

/// Where a complete head ends and how many header lines it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// Index one past the blank line ending the head.
    pub end: usize,
    /// Number of non-empty lines after the start line.
    pub header_lines: usize,
}

/// Incremental end-of-head scanner (accepts CRLF and bare LF line ends).
#[derive(Debug, Clone)]
pub(crate) struct HeadScanner {
    max_bytes: usize,
    max_headers: usize,
    /// Bytes of the caller's buffer already examined.
    scanned: usize,
    /// Non-CR bytes seen on the current line.
    line_len: usize,
    /// Completed non-empty lines (start line included).
    lines: usize,
    done: Option<Head>,
}

impl HeadScanner {
    /// A scanner refusing heads over `max_bytes` bytes or `max_headers` header lines.
    pub fn new(max_bytes: usize, max_headers: usize) -> Self {
        Self {
            max_bytes,
            max_headers,
            scanned: 0,
            line_len: 0,
            lines: 0,
            done: None,
        }
    }

    /// Bytes examined so far (for tests of the linear-scan property).
    #[cfg(test)]
    pub fn scanned(&self) -> usize {
        self.scanned
    }

    /// Looks for the end of the head in `buf`, the caller's receive buffer, which
    /// must only grow between calls (if it shrank, scanning restarts).
    ///
    /// `Ok(None)`: need more bytes.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<Head>, HeaderError> {
        if let Some(h) = self.done {
            if buf.len() >= h.end {
                return Ok(Some(h));
            }
        }
        if buf.len() < self.scanned || self.done.is_some() {
            *self = Self::new(self.max_bytes, self.max_headers);
        }
        let limit = buf.len().min(self.max_bytes);
        let start = self.scanned;
        for (off, &b) in buf.get(start..limit).unwrap_or(&[]).iter().enumerate() {
            match b {
                b'\n' if self.line_len == 0 => {
                    // Empty lines before the start line are tolerated (RFC 7230 §3.5).
                    if self.lines > 0 {
                        let head = Head {
                            end: start + off + 1,
                            header_lines: self.lines - 1,
                        };
                        self.scanned = head.end;
                        self.done = Some(head);
                        return Ok(Some(head));
                    }
                }
                b'\n' => {
                    self.lines += 1;
                    self.line_len = 0;
                    if self.lines - 1 > self.max_headers {
                        return Err(HeaderError::TooManyHeaders {
                            limit: self.max_headers,
                        });
                    }
                }
                b'\r' => {}
                _ => self.line_len += 1,
            }
        }
        self.scanned = limit;
        if limit >= self.max_bytes {
            return Err(HeaderError::TooLarge {
                limit: self.max_bytes,
            });
        }
        Ok(None)
    }
}

/// An HTTP request head with owned fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedRequest {
    pub method: String,
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Headers,
}

/// An HTTP response head with owned fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedResponse {
    pub status: u16,
    pub reason: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Headers,
}

fn malformed(e: httparse::Error) -> HeaderError {
    HeaderError::Syntax(e)
}

/// Parses the request head `buf[..head.end]`.
pub(crate) fn parse_request(buf: &[u8], head: Head) -> Result<OwnedRequest, HeaderError> {
    let bytes = buf.get(..head.end).ok_or_else(incomplete)?;
    // Sized from the scanner's count, which is bounded by max_headers.
    let mut headers = vec![httparse::EMPTY_HEADER; head.header_lines];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes).map_err(malformed)? {
        httparse::Status::Complete(_) => Ok(OwnedRequest {
            method: req.method.unwrap_or_default().to_owned(),
            target: req.path.unwrap_or_default().to_owned(),
            minor_version: req.version.unwrap_or_default(),
            headers: owned_headers(req.headers),
        }),
        httparse::Status::Partial => Err(incomplete()),
    }
}

/// Parses the response head `buf[..head.end]`.
pub(crate) fn parse_response(buf: &[u8], head: Head) -> Result<OwnedResponse, HeaderError> {
    let bytes = buf.get(..head.end).ok_or_else(incomplete)?;
    let mut headers = vec![httparse::EMPTY_HEADER; head.header_lines];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(bytes).map_err(malformed)? {
        httparse::Status::Complete(_) => Ok(OwnedResponse {
            status: resp.code.unwrap_or_default(),
            reason: resp.reason.unwrap_or_default().to_owned(),
            minor_version: resp.version.unwrap_or_default(),
            headers: owned_headers(resp.headers),
        }),
        httparse::Status::Partial => Err(incomplete()),
    }
}

fn incomplete() -> HeaderError {
    // The scanner saw a blank line httparse does not accept as the end of the head
    // (e.g. a stray CR); treat as malformed rather than waiting forever.
    HeaderError::Malformed("incomplete HTTP head".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nrest";

    #[test]
    fn finds_end_all_at_once() {
        let mut s = HeadScanner::new(1024, 8);
        let h = s.scan(REQ).unwrap().unwrap();
        assert_eq!(h.end, REQ.len() - 4);
        assert_eq!(h.header_lines, 2);
        // Asking again is idempotent.
        assert_eq!(s.scan(REQ).unwrap(), Some(h));
    }

    #[test]
    fn byte_by_byte_is_linear() {
        let mut s = HeadScanner::new(1024, 8);
        let end = REQ.len() - 4;
        for n in 0..end {
            assert_eq!(s.scan(&REQ[..n]).unwrap(), None, "at {n}");
            assert_eq!(s.scanned(), n);
        }
        let h = s.scan(&REQ[..end]).unwrap().unwrap();
        assert_eq!(h.end, end);
    }

    #[test]
    fn bare_lf_and_leading_blank_lines() {
        let buf = b"\r\n\nGET / HTTP/1.1\nHost: a\n\nX";
        let h = HeadScanner::new(1024, 8).scan(buf).unwrap().unwrap();
        assert_eq!(h.end, buf.len() - 1);
        assert_eq!(h.header_lines, 1);
        let r = parse_request(buf, h).unwrap();
        assert_eq!(r.headers.get("host"), Some("a"));
    }

    #[test]
    fn too_large_without_end() {
        let mut s = HeadScanner::new(32, 8);
        let buf = vec![b'a'; 31];
        assert_eq!(s.scan(&buf).unwrap(), None);
        let buf = vec![b'a'; 100];
        assert_eq!(s.scan(&buf), Err(HeaderError::TooLarge { limit: 32 }));
        // A head ending exactly at the limit is fine.
        let ok = b"GET / HTTP/1.1\r\n\r\n";
        let mut s = HeadScanner::new(ok.len(), 8);
        assert!(s.scan(ok).unwrap().is_some());
    }

    #[test]
    fn too_many_headers_detected_while_scanning() {
        let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..5 {
            buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        let mut s = HeadScanner::new(1 << 20, 4);
        assert_eq!(s.scan(&buf), Err(HeaderError::TooManyHeaders { limit: 4 }));
        let mut s = HeadScanner::new(1 << 20, 5);
        assert_eq!(s.scan(&buf), Ok(None));
    }

    #[test]
    fn shrinking_buffer_restarts() {
        let mut s = HeadScanner::new(1024, 8);
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\nHo").unwrap(), None);
        assert_eq!(s.scan(b"GET").unwrap(), None);
        assert!(s.scan(b"GET / HTTP/1.1\r\n\r\n").unwrap().is_some());
    }

    #[test]
    fn malformed_heads() {
        for bad in [
            &b"GET / HTTP/1.1\r\nNo colon\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
            b"GET\r\n\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
        ] {
            let h = HeadScanner::new(1024, 8).scan(bad).unwrap().unwrap();
            assert!(
                matches!(parse_request(bad, h), Err(HeaderError::Syntax(_))),
                "{bad:?}"
            );
        }
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nA: b\r\n\r\n";
        let h = HeadScanner::new(1024, 8).scan(resp).unwrap().unwrap();
        let r = parse_response(resp, h).unwrap();
        assert_eq!(
            (r.status, r.reason.as_str(), r.minor_version),
            (101, "Switching Protocols", 1)
        );
    }
}
