//! A minimal parser of a server's (unmasked) frames, for load generators that count
//! messages without looking at their payloads.

use std::io;

/// Minimal parser of the server's (unmasked) frames: counts complete data messages
/// and checks their length and opcode.
pub struct EchoParser {
    header: [u8; 14],
    header_have: usize,
    remaining: u64,
    fin: bool,
    opcode: u8,
    message_opcode: u8,
    message_len: u64,
    expect_len: u64,
    expect_opcode: u8,
}

impl EchoParser {
    pub fn new(expect_len: usize, text: bool) -> Self {
        Self {
            header: [0; 14],
            header_have: 0,
            remaining: 0,
            fin: false,
            opcode: 0,
            message_opcode: 0,
            message_len: 0,
            expect_len: expect_len as u64,
            expect_opcode: if text { 1 } else { 2 },
        }
    }

    fn header_len(&self) -> usize {
        if self.header_have < 2 {
            return 2;
        }
        let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        2 + mask
            + match self.header[1] & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            }
    }

    /// Feeds bytes; returns how many messages completed.
    pub fn feed(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let mut done = 0;
        while !data.is_empty() {
            if self.remaining > 0 {
                let k = (self.remaining.min(data.len() as u64)) as usize;
                self.remaining -= k as u64;
                data = &data[k..];
                if self.remaining == 0 {
                    done += self.frame_done()?;
                }
                continue;
            }
            // Accumulate a header (it may straddle reads).
            while self.header_have < self.header_len() && !data.is_empty() {
                self.header[self.header_have] = data[0];
                self.header_have += 1;
                data = &data[1..];
            }
            if self.header_have < self.header_len() {
                break;
            }
            let h = &self.header;
            self.fin = h[0] & 0x80 != 0;
            self.opcode = h[0] & 0x0f;
            self.remaining = match h[1] & 0x7f {
                126 => u16::from_be_bytes([h[2], h[3]]) as u64,
                127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
                n => n as u64,
            };
            self.header_have = 0;
            match self.opcode {
                0..=2 => {
                    if self.opcode != 0 {
                        self.message_opcode = self.opcode;
                    }
                    self.message_len += self.remaining;
                }
                8 => return Err(io::Error::other("server sent close")),
                _ => {}
            }
            if self.remaining == 0 {
                done += self.frame_done()?;
            }
        }
        Ok(done)
    }

    fn frame_done(&mut self) -> io::Result<usize> {
        if self.opcode > 2 || !self.fin {
            return Ok(0);
        }
        // A compressed echo's length is not the payload's (`expect_len` 0: not checked).
        let ok = (self.expect_len == 0 || self.message_len == self.expect_len)
            && self.message_opcode == self.expect_opcode;
        self.message_len = 0;
        if !ok {
            return Err(io::Error::other("echo of wrong length or type"));
        }
        Ok(1)
    }
}
