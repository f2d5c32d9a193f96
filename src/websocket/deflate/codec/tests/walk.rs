//! A test-only DEFLATE walker (after zlib's `puff`): decodes the block structure of complete
//! blocks and reports the largest back-reference distance.

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let v = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(v))
    }
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Some(v)
    }
}

struct Huffman {
    count: [i32; 16],
    symbol: Vec<u16>,
}

fn huffman(lengths: &[u8]) -> Huffman {
    let mut count = [0i32; 16];
    for &l in lengths {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut offs = [0usize; 16];
    for i in 1..15 {
        offs[i + 1] = offs[i] + count[i] as usize;
    }
    let mut symbol = vec![0; lengths.len()];
    for (s, &l) in lengths.iter().enumerate() {
        if l != 0 {
            symbol[offs[usize::from(l)]] = s as u16;
            offs[usize::from(l)] += 1;
        }
    }
    Huffman { count, symbol }
}

fn decode(b: &mut Bits, h: &Huffman) -> Option<usize> {
    let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
    for len in 1..16 {
        code |= b.bit()? as i32;
        let count = h.count[len];
        if code - count < first {
            return h
                .symbol
                .get((index + code - first) as usize)
                .map(|&s| usize::from(s));
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    None
}

const LBASE: [u32; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEXT: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [usize; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

fn fixed() -> (Huffman, Huffman) {
    let mut l = [8u8; 288];
    l[144..256].fill(9);
    l[256..280].fill(7);
    (huffman(&l), huffman(&[5; 30]))
}

fn dynamic(b: &mut Bits) -> Option<(Huffman, Huffman)> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = b.bits(5)? as usize + 257;
    let ndist = b.bits(5)? as usize + 1;
    let ncode = b.bits(4)? as usize + 4;
    let mut cl = [0u8; 19];
    for &i in &ORDER[..ncode] {
        cl[i] = b.bits(3)? as u8;
    }
    let lencode = huffman(&cl);
    let mut lengths = vec![0u8; nlen + ndist];
    let mut i = 0;
    while i < lengths.len() {
        let sym = decode(b, &lencode)?;
        if sym < 16 {
            lengths[i] = sym as u8;
            i += 1;
            continue;
        }
        let (val, rep) = match sym {
            16 => (*lengths.get(i.checked_sub(1)?)?, 3 + b.bits(2)?),
            17 => (0, 3 + b.bits(3)?),
            _ => (0, 11 + b.bits(7)?),
        };
        for _ in 0..rep {
            *lengths.get_mut(i)? = val;
            i += 1;
        }
    }
    Some((huffman(&lengths[..nlen]), huffman(&lengths[nlen..])))
}

/// The largest distance in `data` (complete blocks), `None` if it is malformed.
pub fn max_distance(data: &[u8]) -> Option<usize> {
    let mut b = Bits { data, pos: 0 };
    let mut max = 0;
    while b.pos < data.len() * 8 {
        let _last = b.bit()?;
        match b.bits(2)? {
            0 => {
                b.pos = b.pos.div_ceil(8) * 8;
                let (len, nlen) = (b.bits(16)?, b.bits(16)?);
                if len != !nlen & 0xffff {
                    return None;
                }
                b.pos += 8 * len as usize;
            }
            ty @ (1 | 2) => {
                let (lit, dist) = if ty == 1 { fixed() } else { dynamic(&mut b)? };
                loop {
                    let sym = decode(&mut b, &lit)?;
                    if sym < 256 {
                        continue;
                    }
                    if sym == 256 {
                        break;
                    }
                    let i = sym - 257;
                    let _len = LBASE.get(i)? + b.bits(LEXT[i])?;
                    let d = decode(&mut b, &dist)?;
                    max = max.max(DBASE.get(d)? + b.bits(DEXT[d])? as usize);
                }
            }
            _ => return None,
        }
    }
    Some(max)
}
