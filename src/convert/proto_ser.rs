//! Writes a typed model part (a collection summary, last-edit info, an embedded card) straight
//! into a protobuf `Value` through serde, as `serde_json::to_value` followed by
//! [`to_proto_value`](super::json::to_proto_value) would, without building the JSON tree between
//! them: numbers become doubles, non-finite numbers and unit values `null`, enum variants what
//! serde_json makes of them, and map keys text.

use std::collections::BTreeMap;
use std::fmt;

use prost_types::value::Kind;
use prost_types::{ListValue, Struct};
use serde::ser::{self, Serialize};

/// Why a value cannot be written as a protobuf `Value`: a map key that is not text, a number or a
/// boolean, or an error the value's own `Serialize` reported.
#[derive(Debug)]
pub(crate) struct Unrepresentable(String);

impl fmt::Display for Unrepresentable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for Unrepresentable {}

impl ser::Error for Unrepresentable {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Unrepresentable(message.to_string())
    }
}

/// Returns `value` as a protobuf `Value`.
pub(crate) fn to_proto<T: Serialize + ?Sized>(value: &T) -> Result<prost_types::Value, Unrepresentable> {
    value.serialize(ProtoSerializer)
}

fn value(kind: Kind) -> prost_types::Value {
    prost_types::Value { kind: Some(kind) }
}

fn number_value(number: f64) -> prost_types::Value {
    value(Kind::NumberValue(number))
}

fn finite_or_null(number: f64) -> prost_types::Value {
    if number.is_finite() { value(Kind::NumberValue(number)) } else { value(Kind::NullValue(0)) }
}

fn object(fields: BTreeMap<String, prost_types::Value>) -> prost_types::Value {
    value(Kind::StructValue(Struct { fields }))
}

fn list(values: Vec<prost_types::Value>) -> prost_types::Value {
    value(Kind::ListValue(ListValue { values }))
}

/// `{variant: inner}`, as serde_json writes a newtype, tuple or struct variant.
fn tagged(variant: &str, inner: prost_types::Value) -> prost_types::Value {
    object(BTreeMap::from([(variant.to_owned(), inner)]))
}

/// Returns a map key as text: text as is, whole numbers and booleans written out (as serde_json
/// writes integer and boolean keys; a number key is exact up to 2^53, as every number here is
/// first a double, and no Metabase model has a number key).
fn key_text(key: prost_types::Value) -> Result<String, Unrepresentable> {
    match key.kind {
        Some(Kind::StringValue(text)) => Ok(text),
        Some(Kind::NumberValue(number)) if number.fract() == 0.0 => Ok(format!("{number}")),
        Some(Kind::BoolValue(flag)) => Ok(flag.to_string()),
        _ => Err(Unrepresentable("a map key must be text, a whole number or a boolean".to_owned())),
    }
}

struct ProtoSerializer;

impl ser::Serializer for ProtoSerializer {
    type Ok = prost_types::Value;
    type Error = Unrepresentable;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = Items;
    type SerializeMap = Fields;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Fields;

    fn serialize_bool(self, flag: bool) -> Result<Self::Ok, Self::Error> {
        Ok(value(Kind::BoolValue(flag)))
    }

    fn serialize_i8(self, number: i8) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(f64::from(number)))
    }

    fn serialize_i16(self, number: i16) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(f64::from(number)))
    }

    fn serialize_i32(self, number: i32) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(f64::from(number)))
    }

    fn serialize_i64(self, number: i64) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(number as f64))
    }

    fn serialize_i128(self, number: i128) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(number as f64))
    }

    fn serialize_u8(self, number: u8) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(f64::from(number)))
    }

    fn serialize_u16(self, number: u16) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(f64::from(number)))
    }

    fn serialize_u32(self, number: u32) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(f64::from(number)))
    }

    fn serialize_u64(self, number: u64) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(number as f64))
    }

    fn serialize_u128(self, number: u128) -> Result<Self::Ok, Self::Error> {
        Ok(number_value(number as f64))
    }

    fn serialize_f32(self, number: f32) -> Result<Self::Ok, Self::Error> {
        Ok(finite_or_null(f64::from(number)))
    }

    fn serialize_f64(self, number: f64) -> Result<Self::Ok, Self::Error> {
        Ok(finite_or_null(number))
    }

    fn serialize_char(self, character: char) -> Result<Self::Ok, Self::Error> {
        Ok(value(Kind::StringValue(character.to_string())))
    }

    fn serialize_str(self, text: &str) -> Result<Self::Ok, Self::Error> {
        Ok(value(Kind::StringValue(text.to_owned())))
    }

    fn serialize_bytes(self, bytes: &[u8]) -> Result<Self::Ok, Self::Error> {
        Ok(list(bytes.iter().map(|byte| number_value(f64::from(*byte))).collect()))
    }

    fn serialize_none(self) -> Result<Self::Ok, Self::Error> {
        Ok(value(Kind::NullValue(0)))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, inner: &T) -> Result<Self::Ok, Self::Error> {
        inner.serialize(self)
    }

    fn serialize_unit(self) -> Result<Self::Ok, Self::Error> {
        Ok(value(Kind::NullValue(0)))
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok, Self::Error> {
        Ok(value(Kind::NullValue(0)))
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Self::Error> {
        Ok(value(Kind::StringValue(variant.to_owned())))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        inner: &T,
    ) -> Result<Self::Ok, Self::Error> {
        inner.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        inner: &T,
    ) -> Result<Self::Ok, Self::Error> {
        Ok(tagged(variant, inner.serialize(self)?))
    }

    fn serialize_seq(self, length: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Ok(Items { variant: None, values: Vec::with_capacity(length.unwrap_or_default().min(1024)) })
    }

    fn serialize_tuple(self, length: usize) -> Result<Self::SerializeTuple, Self::Error> {
        self.serialize_seq(Some(length))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        length: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        self.serialize_seq(Some(length))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        length: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Ok(Items { variant: Some(variant), values: Vec::with_capacity(length.min(1024)) })
    }

    fn serialize_map(self, _length: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Ok(Fields { variant: None, fields: BTreeMap::new(), pending_key: None })
    }

    fn serialize_struct(self, _name: &'static str, _length: usize) -> Result<Self::SerializeStruct, Self::Error> {
        self.serialize_map(None)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _length: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Ok(Fields { variant: Some(variant), fields: BTreeMap::new(), pending_key: None })
    }
}

/// The items of a sequence, tuple or tuple variant being written.
struct Items {
    variant: Option<&'static str>,
    values: Vec<prost_types::Value>,
}

impl Items {
    fn push<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), Unrepresentable> {
        self.values.push(item.serialize(ProtoSerializer)?);
        Ok(())
    }

    fn finish(self) -> prost_types::Value {
        let items = list(self.values);
        match self.variant {
            Some(variant) => tagged(variant, items),
            None => items,
        }
    }
}

/// Implements one of serde's four sequence-writing traits for [`Items`]; they differ only in the
/// name of the method that takes an item.
macro_rules! items_trait {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for Items {
            type Ok = prost_types::Value;
            type Error = Unrepresentable;

            fn $method<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), Unrepresentable> {
                self.push(item)
            }

            fn end(self) -> Result<prost_types::Value, Unrepresentable> {
                Ok(self.finish())
            }
        }
    };
}

items_trait!(SerializeSeq, serialize_element);
items_trait!(SerializeTuple, serialize_element);
items_trait!(SerializeTupleStruct, serialize_field);
items_trait!(SerializeTupleVariant, serialize_field);

/// The fields of a map, struct or struct variant being written; a repeated key keeps its last
/// value, as in serde_json.
struct Fields {
    variant: Option<&'static str>,
    fields: BTreeMap<String, prost_types::Value>,
    pending_key: Option<String>,
}

impl Fields {
    fn finish(self) -> prost_types::Value {
        let fields = object(self.fields);
        match self.variant {
            Some(variant) => tagged(variant, fields),
            None => fields,
        }
    }
}

impl ser::SerializeMap for Fields {
    type Ok = prost_types::Value;
    type Error = Unrepresentable;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unrepresentable> {
        self.pending_key = Some(key_text(key.serialize(ProtoSerializer)?)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), Unrepresentable> {
        let key =
            self.pending_key.take().ok_or_else(|| Unrepresentable("a map value came before its key".to_owned()))?;
        self.fields.insert(key, item.serialize(ProtoSerializer)?);
        Ok(())
    }

    fn end(self) -> Result<prost_types::Value, Unrepresentable> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for Fields {
    type Ok = prost_types::Value;
    type Error = Unrepresentable;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, item: &T) -> Result<(), Unrepresentable> {
        self.fields.insert(key.to_owned(), item.serialize(ProtoSerializer)?);
        Ok(())
    }

    fn end(self) -> Result<prost_types::Value, Unrepresentable> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for Fields {
    type Ok = prost_types::Value;
    type Error = Unrepresentable;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, item: &T) -> Result<(), Unrepresentable> {
        ser::SerializeStruct::serialize_field(self, key, item)
    }

    fn end(self) -> Result<prost_types::Value, Unrepresentable> {
        Ok(self.finish())
    }
}

#[cfg(test)]
#[path = "proto_ser_tests.rs"]
mod tests;
