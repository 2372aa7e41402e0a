//! ClickHouse's RowBinary format, for the few types the sink uses: `String` (LEB128 length and
//! bytes), `Int64`/`UInt64`/`UInt32` (`DateTime`)/`UInt8`/`Float64` little-endian,
//! `Decimal(38, 2)` as its scaled 128-bit integer, and `Nullable(T)` as a 0/1 null flag then `T`.
//!
//! Kept by hand although the `clickhouse` crate carries the bytes: the crate encodes and
//! decodes RowBinary only for `Row` types, whose column names are compile-time constants
//! (`Row::COLUMN_NAMES`, which also make up its `INSERT` statement), while the sink's 17
//! storage tables take their columns from the view registry at run time. The sink hands the
//! crate pre-formatted rows (`insert_formatted_with`) and reads raw answers (`fetch_bytes`).

/// Appends a `String`.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut len = s.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(s.as_bytes());
}

/// Appends an `Int64`.
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a `Decimal(38, 2)` from its minor units (a little-endian 128-bit integer).
pub(crate) fn put_i128(out: &mut Vec<u8>, v: i128) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a `UInt64`.
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a `UInt32` (a `DateTime`: seconds since the epoch).
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a `UInt8`.
pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// Appends a `Nullable(Float64)`.
pub(crate) fn put_opt_f64(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        None => out.push(1),
        Some(x) => {
            out.push(0);
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
}

/// Reads RowBinary values from an answer.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| format!("answer truncated at byte {}", self.pos))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A `String` (which must be UTF-8).
    pub(crate) fn string(&mut self) -> Result<String, String> {
        let mut len: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = self.u8()?;
            len |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err("string length overflows".into());
            }
        }
        let bytes = self.take(usize::try_from(len).map_err(|e| e.to_string())?)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| format!("string not UTF-8: {e}"))
    }

    /// An `Int64`.
    pub(crate) fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A `Decimal(38, 2)` in minor units.
    pub(crate) fn i128(&mut self) -> Result<i128, String> {
        Ok(i128::from_le_bytes(self.array()?))
    }

    /// A `UInt32` (a `DateTime`).
    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A `UInt8`.
    pub(crate) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// A `Nullable` flag: true when the value is null (and absent).
    pub(crate) fn is_null(&mut self) -> Result<bool, String> {
        Ok(self.u8()? != 0)
    }

    /// A `Nullable(Float64)`.
    pub(crate) fn opt_f64(&mut self) -> Result<Option<f64>, String> {
        if self.is_null()? {
            return Ok(None);
        }
        Ok(Some(f64::from_le_bytes(self.array()?)))
    }

    /// A `Nullable(String)`.
    pub(crate) fn opt_string(&mut self) -> Result<Option<String>, String> {
        if self.is_null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }
}
