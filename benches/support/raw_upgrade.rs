//! The load generators' opening handshake, written by hand so that no client library's
//! cost lands in a measurement.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects to `127.0.0.1:port` and upgrades, offering `extensions` (a
/// `Sec-WebSocket-Extensions` value) if given. The response must be a 101 whose head
/// contains `must_accept` (lowercase) when given. Returns the stream and the bytes read
/// past the response.
pub async fn upgrade(
    port: u16,
    extensions: Option<&str>,
    must_accept: Option<&str>,
) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.set_nodelay(true)?;
    let offer = extensions
        .map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::other("EOF during handshake"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let accepted = must_accept.is_none_or(|token| head.contains(token));
            if !buf.starts_with(b"HTTP/1.1 101") || !accepted {
                return Err(io::Error::other(format!("handshake refused: {head}")));
            }
            return Ok((s, buf.split_off(end + 4)));
        }
    }
}
