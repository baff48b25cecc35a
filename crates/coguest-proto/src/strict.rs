//! Strict JSON: a serde `Deserializer` wrapper over `serde_json` that refuses a key repeated in
//! any object, at any depth, and (for chosen keys of the outermost object) any value but a
//! string. One pass: the wrapped deserializer reads the text once, as `serde_json` alone would.
//!
//! `serde_json` keeps the last of two equal keys, and a derived internally tagged enum accepts
//! a variant's index as its tag; the protocol documents neither, so a frame that a proxy or a
//! log would read one way must not run another.

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::{Deserialize, forward_to_deserialize_any};
use std::cell::Cell;
use std::fmt;

/// `T` from JSON text, refusing repeated keys at any depth.
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
    from_str_with(text, &[], &Cell::new(0))
}

/// `T` from JSON bytes, refusing repeated keys at any depth.
pub fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Strict::top(&mut de, &[], &Cell::new(0)))?;
    de.end()?;
    Ok(value)
}

/// `T` from JSON text, refusing repeated keys at any depth, and any value but a string for
/// the outermost object's keys in `string_keys`; `keys` counts the outermost object's keys.
pub(crate) fn from_str_with<'a, T: Deserialize<'a>>(
    text: &'a str,
    string_keys: &'static [&'static str],
    keys: &Cell<usize>,
) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Strict::top(&mut de, string_keys, keys))?;
    de.end()?;
    Ok(value)
}

/// What the next object read must hold to: the keys whose values must be strings, and where
/// to count its keys (the outermost object's only; nested objects have neither).
#[derive(Clone, Copy)]
struct Rules<'k> {
    string_keys: &'static [&'static str],
    keys: Option<&'k Cell<usize>>,
}

const NESTED: Rules<'static> = Rules {
    string_keys: &[],
    keys: None,
};

/// A deserializer whose objects, at any depth, refuse repeated keys.
struct Strict<'k, D> {
    inner: D,
    rules: Rules<'k>,
}

impl<'k, D> Strict<'k, D> {
    fn top(inner: D, string_keys: &'static [&'static str], keys: &'k Cell<usize>) -> Self {
        Strict {
            inner,
            rules: Rules {
                string_keys,
                keys: Some(keys),
            },
        }
    }

    fn nested(inner: D) -> Self {
        Strict {
            inner,
            rules: NESTED,
        }
    }
}

/// A visitor that hands on strict access to what it is given (objects, arrays, options,
/// enums).
struct Wrap<'k, V> {
    inner: V,
    rules: Rules<'k>,
}

/// Forwards `deserialize_*` methods to the inner deserializer with the visitor wrapped.
macro_rules! forward_wrapped {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.inner.$method($($arg,)* Wrap { inner: visitor, rules: self.rules })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<'_, D> {
    type Error = D::Error;

    forward_wrapped! {
        deserialize_any()
        deserialize_bool()
        deserialize_i8()
        deserialize_i16()
        deserialize_i32()
        deserialize_i64()
        deserialize_i128()
        deserialize_u8()
        deserialize_u16()
        deserialize_u32()
        deserialize_u64()
        deserialize_u128()
        deserialize_f32()
        deserialize_f64()
        deserialize_char()
        deserialize_str()
        deserialize_string()
        deserialize_bytes()
        deserialize_byte_buf()
        deserialize_option()
        deserialize_unit()
        deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str)
        deserialize_seq()
        deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_map()
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier()
        deserialize_ignored_any()
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards `visit_*` methods of plain values to the inner visitor.
macro_rules! forward_visits {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visits! {
        visit_bool(bool)
        visit_i8(i8)
        visit_i16(i16)
        visit_i32(i32)
        visit_i64(i64)
        visit_i128(i128)
        visit_u8(u8)
        visit_u16(u16)
        visit_u32(u32)
        visit_u64(u64)
        visit_u128(u128)
        visit_f32(f32)
        visit_f64(f64)
        visit_char(char)
        visit_str(&str)
        visit_borrowed_str(&'de str)
        visit_string(String)
        visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8])
        visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Strict {
            inner: d,
            rules: self.rules,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Strict {
            inner: d,
            rules: self.rules,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(StrictSeq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(StrictMap {
            inner: map,
            rules: self.rules,
            seen: Vec::new(),
            string_value: false,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(StrictEnum(data))
    }
}

/// Deserializes what it seeds through a nested [`Strict`].
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict::nested(d))
    }
}

struct StrictSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for StrictSeq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// An object key, borrowed from the text unless it had escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// An object whose keys are checked as they are read: a repeated key is an error.
struct StrictMap<'de, 'k, A> {
    inner: A,
    rules: Rules<'k>,
    /// The keys read so far (an object of a frame or body has a few).
    seen: Vec<Key<'de>>,
    /// The value about to be read must be a string.
    string_value: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictMap<'de, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.inner.next_key::<Key<'de>>()? else {
            return Ok(None);
        };
        let name = key.as_str();
        if self.seen.iter().any(|k| k.as_str() == name) {
            return Err(A::Error::custom(format_args!(
                "duplicate key `{name}`: each key may appear once"
            )));
        }
        self.string_value = self.rules.string_keys.contains(&name);
        if let Some(keys) = self.rules.keys {
            keys.set(keys.get() + 1);
        }
        let value = match &key {
            Key::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::<A::Error>::new(s)),
            Key::Owned(s) => seed.deserialize(StrDeserializer::<A::Error>::new(s)),
        }?;
        self.seen.push(key);
        Ok(Some(value))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        if std::mem::take(&mut self.string_value) {
            self.inner.next_value_seed(StringSeed(seed))
        } else {
            self.inner.next_value_seed(Seed(seed))
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct StrictEnum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for StrictEnum<A> {
    type Error = A::Error;
    type Variant = StrictVariant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, StrictVariant(variant)))
    }
}

struct StrictVariant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for StrictVariant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = Wrap {
            inner: visitor,
            rules: NESTED,
        };
        self.0.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = Wrap {
            inner: visitor,
            rules: NESTED,
        };
        self.0.struct_variant(fields, visitor)
    }
}

/// Deserializes what it seeds from a string only.
struct StringSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StringSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(StringOnly(d))
    }
}

/// A deserializer that offers its visitor a string, or an error.
struct StringOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for StringOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(StringVisitor(visitor))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// Passes strings on; anything else is an "invalid type" error.
struct StringVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for StringVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.0.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.0.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.0.visit_string(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeMap;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"[{"x":[{"y":1,"y":2}]}]"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            let e = from_str::<Value>(text).err();
            let e = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("duplicate key"), "{text}: {e}");
        }
        let ok: BTreeMap<String, Value> =
            from_str(r#"{"a":{"b":1,"c":[{"b":2}]},"b":3}"#).unwrap_or_default();
        assert_eq!(ok.len(), 2);
    }

    #[test]
    fn string_keys_take_strings_only() {
        let keys = Cell::new(0);
        let ok: Result<Value, _> = from_str_with(r#"{"cmd":"x","n":{"cmd":1}}"#, &["cmd"], &keys);
        assert!(ok.is_ok(), "{ok:?}");
        assert_eq!(keys.get(), 2, "the outermost object's keys only");
        for text in [r#"{"cmd":0}"#, r#"{"cmd":null}"#, r#"{"cmd":["x"]}"#] {
            let e = from_str_with::<Value>(text, &["cmd"], &Cell::new(0)).err();
            let e = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("expected a string"), "{text}: {e}");
        }
    }

    #[test]
    fn trailing_text_is_refused() {
        assert!(from_str::<Value>("{} {}").is_err());
        assert!(from_slice::<Value>(b"[1] x").is_err());
    }
}
