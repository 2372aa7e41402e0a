//! [`Pack`]: how a keyed operator holds a key's facts as one small byte string rather than
//! as a vector of decoded facts.
//!
//! A decoded fact is as large as its largest variant (a notification's webhook takes the room
//! of its send: ~140 bytes with its event time and count), and each interned name in it is a
//! 16-byte pointer. Packed, a fact takes its own length: names are varint indices into the
//! operator's [`NameTable`], integers are zigzag varints, an event id is 17 bytes, so a send
//! is ~40 bytes and a webhook ~10. The operator unpacks a key's facts when the key changes
//! and packs them again after (module `summarise`).
//!
//! Packed bytes never leave the worker that packed them: indices mean something only with
//! the table that gave them, so packed facts are never exchanged, spilled or compared.

use hashbrown::HashMap;
use std::sync::Arc;

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::event_id::EventId;
use crate::intern::Name;

/// One operator's names, each with the index its packed facts use.
#[derive(Debug, Default)]
pub struct NameTable {
    names: Vec<Name>,
    index: HashMap<Name, u32>,
}

impl NameTable {
    /// The index of `name`, given on first sight.
    fn index(&mut self, name: &Name) -> u32 {
        if let Some(index) = self.index.get(name) {
            return *index;
        }
        let index = u32::try_from(self.names.len()).expect("fewer than 2^32 names");
        self.names.push(Arc::clone(name));
        self.index.insert(Arc::clone(name), index);
        index
    }
}

/// Writes packed values into a byte buffer.
pub struct Packer<'a> {
    out: &'a mut Vec<u8>,
    names: &'a mut NameTable,
}

/// Reads packed values back, in the order they were written.
pub struct Unpacker<'a> {
    input: &'a [u8],
    names: &'a NameTable,
}

/// A value that packs to bytes and unpacks to an equal value.
pub trait Pack: Sized {
    /// Appends the value.
    fn pack(&self, out: &mut Packer<'_>);
    /// Reads one value written by [`Pack::pack`].
    fn unpack(input: &mut Unpacker<'_>) -> Self;
}

/// Encoding of plain values (unit-like enums) packed through serde: varint integers.
fn plain() -> impl Options {
    bincode::DefaultOptions::new()
}

impl<'a> Packer<'a> {
    /// A packer appending to `out`, naming names in `names`.
    pub fn new(out: &'a mut Vec<u8>, names: &'a mut NameTable) -> Packer<'a> {
        Packer { out, names }
    }

    /// Appends one byte.
    pub fn byte(&mut self, byte: u8) {
        self.out.push(byte);
    }

    /// Appends `n` as a varint (see [`put_varint`]).
    pub fn varint(&mut self, n: u64) {
        put_varint(self.out, n.into());
    }

    /// Appends 8 bytes, little-endian.
    pub fn word(&mut self, word: u64) {
        self.out.extend_from_slice(&word.to_le_bytes());
    }

    /// Appends raw bytes, their length first.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.out.extend_from_slice(bytes);
    }

    /// Appends a value that holds no names, through its serde encoding (for small enums).
    pub fn plain<T: Serialize>(&mut self, value: &T) {
        plain()
            .serialize_into(&mut *self.out, value)
            .expect("writing to a vector cannot fail");
    }
}

impl<'a> Unpacker<'a> {
    /// An unpacker reading `input`, whose names index `names`.
    pub fn new(input: &'a [u8], names: &'a NameTable) -> Unpacker<'a> {
        Unpacker { input, names }
    }

    /// Whether every value has been read.
    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// Reads one byte.
    pub fn byte(&mut self) -> u8 {
        let (&byte, rest) = self.input.split_first().expect("a packed byte");
        self.input = rest;
        byte
    }

    /// Reads a varint written by [`Packer::varint`].
    pub fn varint(&mut self) -> u64 {
        take_varint(&mut self.input) as u64
    }

    /// Reads 8 bytes written by [`Packer::word`].
    pub fn word(&mut self) -> u64 {
        let (bytes, rest) = self.input.split_at(8);
        self.input = rest;
        u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
    }

    /// Reads bytes written by [`Packer::bytes`].
    pub fn bytes(&mut self) -> &'a [u8] {
        let len = self.varint() as usize;
        let (bytes, rest) = self.input.split_at(len);
        self.input = rest;
        bytes
    }

    /// Reads a value written by [`Packer::plain`].
    pub fn plain<T: DeserializeOwned>(&mut self) -> T {
        plain()
            .deserialize_from(&mut self.input)
            .expect("a value packed by Packer::plain")
    }
}

/// Appends `n` to `out` as a varint: 7 bits per byte, least significant first, the high bit
/// set on every byte but the last (one byte below 128, two below 16,384).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u128) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint written by [`put_varint`] from the front of `input`, advancing it.
pub(crate) fn take_varint(input: &mut &[u8]) -> u128 {
    let mut n = 0u128;
    let mut shift = 0;
    loop {
        let (&byte, rest) = input.split_first().expect("a packed varint");
        *input = rest;
        n |= u128::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// Zigzag: small negative and positive numbers both become small unsigned ones.
pub(crate) fn zigzag(n: i128) -> u128 {
    ((n << 1) ^ (n >> 127)) as u128
}

/// The number [`zigzag`] was given.
pub(crate) fn unzigzag(n: u128) -> i128 {
    ((n >> 1) as i128) ^ -((n & 1) as i128)
}

impl Pack for () {
    fn pack(&self, _: &mut Packer<'_>) {}
    fn unpack(_: &mut Unpacker<'_>) -> Self {}
}

impl Pack for bool {
    fn pack(&self, out: &mut Packer<'_>) {
        out.byte(u8::from(*self));
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        input.byte() != 0
    }
}

impl Pack for i64 {
    fn pack(&self, out: &mut Packer<'_>) {
        out.varint(zigzag(i128::from(*self)) as u64);
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        unzigzag(u128::from(input.varint())) as i64
    }
}

/// Unsigned integers pack as varints.
macro_rules! pack_unsigned {
    ($($t:ty),*) => {$(
        impl Pack for $t {
            fn pack(&self, out: &mut Packer<'_>) {
                out.varint(u64::from(*self));
            }
            fn unpack(input: &mut Unpacker<'_>) -> Self {
                <$t>::try_from(input.varint()).expect("packed from this type")
            }
        }
    )*};
}

pack_unsigned!(u8, u16, u32, u64);

impl Pack for isize {
    fn pack(&self, out: &mut Packer<'_>) {
        (*self as i64).pack(out);
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        i64::unpack(input) as isize
    }
}

impl Pack for i128 {
    fn pack(&self, out: &mut Packer<'_>) {
        put_varint(out.out, zigzag(*self));
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        unzigzag(take_varint(&mut input.input))
    }
}

impl Pack for u128 {
    fn pack(&self, out: &mut Packer<'_>) {
        out.word((*self >> 64) as u64);
        out.word(*self as u64);
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        let high = input.word();
        (u128::from(high) << 64) | u128::from(input.word())
    }
}

impl Pack for String {
    fn pack(&self, out: &mut Packer<'_>) {
        out.bytes(self.as_bytes());
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        String::from_utf8(input.bytes().to_vec()).expect("packed from a String")
    }
}

impl Pack for Name {
    fn pack(&self, out: &mut Packer<'_>) {
        let index = out.names.index(self);
        out.varint(u64::from(index));
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        let index = input.varint() as usize;
        Arc::clone(&input.names.names[index])
    }
}

impl Pack for EventId {
    fn pack(&self, out: &mut Packer<'_>) {
        match self {
            EventId::Uuid(high, low) | EventId::Evt(high, low) => {
                out.byte(u8::from(matches!(self, EventId::Evt(..))));
                out.word(*high);
                out.word(*low);
            }
            EventId::Text(text) => {
                out.byte(2);
                out.bytes(text.as_bytes());
            }
        }
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        match input.byte() {
            0 => EventId::Uuid(input.word(), input.word()),
            1 => EventId::Evt(input.word(), input.word()),
            _ => {
                let text = std::str::from_utf8(input.bytes()).expect("packed from a str");
                EventId::Text(Arc::from(text))
            }
        }
    }
}

impl<T: Pack> Pack for Option<T> {
    fn pack(&self, out: &mut Packer<'_>) {
        match self {
            None => out.byte(0),
            Some(value) => {
                out.byte(1);
                value.pack(out);
            }
        }
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        (input.byte() != 0).then(|| T::unpack(input))
    }
}

impl<A: Pack, B: Pack> Pack for (A, B) {
    fn pack(&self, out: &mut Packer<'_>) {
        self.0.pack(out);
        self.1.pack(out);
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        let a = A::unpack(input);
        (a, B::unpack(input))
    }
}

impl<A: Pack, B: Pack, C: Pack> Pack for (A, B, C) {
    fn pack(&self, out: &mut Packer<'_>) {
        self.0.pack(out);
        self.1.pack(out);
        self.2.pack(out);
    }
    fn unpack(input: &mut Unpacker<'_>) -> Self {
        let a = A::unpack(input);
        let b = B::unpack(input);
        (a, b, C::unpack(input))
    }
}

/// Packs `values` (each with its count) into one byte string of exactly their length.
pub fn pack_all<T: Pack>(values: &[(T, isize)], names: &mut NameTable) -> Box<[u8]> {
    let mut out = Vec::new();
    let mut packer = Packer::new(&mut out, names);
    for (value, count) in values {
        count.pack(&mut packer);
        value.pack(&mut packer);
    }
    out.into_boxed_slice()
}

/// Unpacks what [`pack_all`] packed, appending to `values`.
pub fn unpack_all<T: Pack>(bytes: &[u8], names: &NameTable, values: &mut Vec<(T, isize)>) {
    let mut input = Unpacker::new(bytes, names);
    while !input.is_empty() {
        let count = isize::unpack(&mut input);
        values.push((T::unpack(&mut input), count));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip<T: Pack + PartialEq + std::fmt::Debug>(values: Vec<(T, isize)>) {
        let mut names = NameTable::default();
        let bytes = pack_all(&values, &mut names);
        let mut back = Vec::new();
        unpack_all(&bytes, &names, &mut back);
        assert_eq!(back, values);
    }

    #[test]
    fn names_are_indices_and_ids_are_sixteen_bytes() {
        let mut names = NameTable::default();
        let globex: Name = Arc::from("globex");
        let id = EventId::new("f309929e-cb7d-49af-a4d4-f1ec67e341c7");
        let fact = (1_705_276_866_903_000i64, id, globex.clone());
        let bytes = pack_all(&[(fact.clone(), 1)], &mut names);
        // count 1 + time 8 + id 17 + name index 1.
        assert_eq!(bytes.len(), 1 + 8 + 17 + 1);
        let again = pack_all(&[(fact.clone(), 1), (fact, -2)], &mut names);
        assert_eq!(again.len(), 2 * bytes.len(), "the name keeps its index");
        let mut back: Vec<((i64, EventId, Name), isize)> = Vec::new();
        unpack_all(&again, &names, &mut back);
        assert!(
            Arc::ptr_eq(&back[1].0 .2, &globex),
            "unpacked names are shared"
        );
        assert_eq!(back[1].1, -2);
    }

    proptest! {
        #[test]
        fn values_unpack_as_they_were_packed(
            values in proptest::collection::vec(
                ((any::<i64>(), any::<i128>(), "[a-z]{0,3}", any::<bool>()), -3isize..3),
                0..8,
            ),
            ids in proptest::collection::vec(
                prop_oneof![
                    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                    "evt_[0-9a-f]{32}",
                    ".{0,12}",
                ],
                0..4,
            ),
        ) {
            let named = values
                .iter()
                .map(|((n, big, text, flag), count)| {
                    ((*n, *big, Some(Arc::<str>::from(text.as_str())), *flag), *count)
                })
                .map(|((n, big, name, flag), count)| (((n, big), (name, flag), String::from("x")), count))
                .collect::<Vec<_>>();
            round_trip(named);
            round_trip(ids.iter().map(|id| (EventId::new(id), 1)).collect());
        }
    }
}
