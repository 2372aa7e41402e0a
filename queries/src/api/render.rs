//! The JSON shape of every row, generated from the view registry with exactly the column
//! names of VIEWS.md: money `*_total` as numbers with two decimals,
//! `window_start`/`day`/`due_at`/`timestamp` as RFC 3339, rates and averages as numbers or
//! `null`, the timeline summary as a parsed object; and each row's OpenAPI schema.

use std::borrow::Cow;
use std::marker::PhantomData;

use pulso_events::money::{format_cents, CentsTotal};
use pulso_events::registry::{Cell, Column, ColumnType, RowVisitor, View};
use pulso_events::time::{format_rfc3339, Micros};
use pulso_events::views::{OpenCase, TimelineEntry, TopicHealth, ViewRow};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Number, Value};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Money in minor units, serialized as a JSON number with exactly two decimals.
pub(crate) struct Money(pub(crate) CentsTotal);

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `arbitrary_precision` keeps the decimal text verbatim.
        match format_cents(self.0).parse::<Number>() {
            Ok(n) => n.serialize(s),
            Err(_) => s.serialize_f64(self.0 as f64 / 100.0),
        }
    }
}

/// A UTC instant, serialized as RFC 3339.
pub(crate) struct Time(pub(crate) Micros);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339(self.0))
    }
}

/// One row of view `V` as the API serves it.
pub(crate) struct RowJson<'a, V>(pub(crate) &'a V);

/// A `timelines` entry.
pub(crate) type TimelineJson<'a> = RowJson<'a, TimelineEntry>;
/// One open case of `/v1/open_cases`.
pub(crate) type OpenCaseJson<'a> = RowJson<'a, OpenCase>;
/// A per-topic `pipeline_health` row.
pub(crate) type TopicHealthJson<'a> = RowJson<'a, TopicHealth>;

impl<'a, V> From<&'a V> for RowJson<'a, V> {
    fn from(row: &'a V) -> Self {
        RowJson(row)
    }
}

/// The positions, in [`View::columns`], of the fields of `V`'s JSON, in order: the served
/// columns in file order, or [`View::api_order`].
fn api_fields<V: View>() -> Vec<usize> {
    let columns = V::columns();
    match V::api_order() {
        Some(names) => names
            .iter()
            .filter_map(|n| columns.iter().position(|c| c.name == *n))
            .collect(),
        None => (0..columns.len())
            .filter(|&i| columns[i].is_served())
            .collect(),
    }
}

/// One cell as JSON.
struct CellJson<'a>(Cell<'a>, &'a Column);

impl Serialize for CellJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Cell::Text(text) if self.1.ty == ColumnType::Json => {
                match serde_json::from_str::<Value>(text) {
                    Ok(value) => value.serialize(s),
                    Err(_) => s.serialize_str(text),
                }
            }
            Cell::Text(text) => s.serialize_str(text),
            Cell::OptText(text) => text.serialize(s),
            Cell::Int(v) => s.serialize_i64(v),
            Cell::Timestamp(t) => Time(t).serialize(s),
            Cell::Money(v) => Money(v).serialize(s),
            Cell::Rate(v) => v.serialize(s),
        }
    }
}

impl<V: View> Serialize for RowJson<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let columns = V::columns();
        let mut cells = Vec::with_capacity(columns.len());
        self.0.cells(&mut cells);
        let fields = api_fields::<V>();
        let mut map = s.serialize_map(Some(fields.len()))?;
        for i in fields {
            map.serialize_entry(columns[i].name.as_ref(), &CellJson(cells[i], &columns[i]))?;
        }
        map.end()
    }
}

/// The name of `V`'s row schema: its [`ViewRow`] variant and `Json`
/// (`NotificationRatesJson`, `TimelineJson`...).
fn schema_name<V: View>() -> &'static str {
    macro_rules! names {
        ($($ty:ident $field:ident $variant:ident;)*) => {
            $(
                if V::NAME == <pulso_events::views::$ty as View>::NAME {
                    return concat!(stringify!($variant), "Json");
                }
            )*
        };
    }
    pulso_events::for_each_view!(names);
    "RowJson"
}

impl<V: View> PartialSchema for RowJson<'_, V> {
    /// An object of the served columns; non-null ones required. `pipeline_health`'s schema
    /// lists its counters as plain integers, none required, as it always has.
    fn schema() -> RefOr<Schema> {
        let terse = V::NAME == <TopicHealth as View>::NAME;
        let typed = |ty: Type| ObjectBuilder::new().schema_type(SchemaType::Type(ty));
        let nullable =
            |ty: Type| ObjectBuilder::new().schema_type(SchemaType::Array(vec![ty, Type::Null]));
        let format = |f: KnownFormat| Some(SchemaFormat::KnownFormat(f));
        let mut object = ObjectBuilder::new().description(Some(V::DESCRIPTION));
        for i in api_fields::<V>() {
            let column = &V::columns()[i];
            let property = match column.ty {
                ColumnType::Text => typed(Type::String),
                ColumnType::OptText => nullable(Type::String),
                ColumnType::Int if terse => typed(Type::Integer),
                ColumnType::Int => typed(Type::Integer).format(format(KnownFormat::Int64)),
                ColumnType::Timestamp => typed(Type::String).format(format(KnownFormat::DateTime)),
                ColumnType::Money => typed(Type::Number).format(format(KnownFormat::Double)),
                ColumnType::Rate => nullable(Type::Number).format(format(KnownFormat::Double)),
                ColumnType::Json => typed(Type::Object).description(column.doc),
            };
            object = object.property(column.name.as_ref(), property);
            if !terse && !column.ty.nullable() {
                object = object.required(column.name.as_ref());
            }
        }
        object.into()
    }
}

impl<V: View> ToSchema for RowJson<'_, V> {
    fn name() -> Cow<'static, str> {
        schema_name::<V>().into()
    }
}

/// Gives a served row's view name and JSON.
struct ToJson(PhantomData<()>);

impl<'a> RowVisitor<'a> for ToJson {
    type Output = Option<(&'static str, Value)>;

    fn visit<V: View>(self, row: &'a V) -> Self::Output {
        if !V::SERVED {
            return None;
        }
        serde_json::to_value(RowJson(row))
            .ok()
            .map(|v| (V::NAME, v))
    }
}

/// The view a row belongs to and its JSON as the API serves it in `/v1/views/{view}`
/// (`None` for rows not served there: open cases and `as_of`). Used by `pulso verify --api`.
pub fn row_json(row: &ViewRow) -> Option<(&'static str, Value)> {
    row.visit(ToJson(PhantomData)).flatten()
}
