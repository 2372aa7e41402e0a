//! The ClickHouse form of a registry view: from its typed columns (some of them key columns)
//! follow the storage table's columns and sorting key, the ClickHouse view over it, the
//! RowBinary encoding of a row's cells and the reading of the view's answer back into cells.

use pulso_events::registry::{Cell, Column, ColumnType, Value};
use pulso_events::time::{Micros, MICROS_PER_SECOND};

use super::rowbinary::{self as rb, Reader};

/// Suffix of the storage tables: `<view>_store`.
pub const STORE_SUFFIX: &str = "_store";
/// Suffix of the exact microsecond column stored next to every `DateTime` column.
pub const MICROS_SUFFIX: &str = "_us";
/// Suffix of the value column of a nullable key string (`prioridad_value`).
pub const VALUE_SUFFIX: &str = "_value";
/// Suffix of the null flag of a nullable key string (`prioridad_is_null`).
pub const IS_NULL_SUFFIX: &str = "_is_null";
/// The ClickHouse type of timestamps (second precision, displayed in UTC).
pub const DATETIME: &str = "DateTime('UTC')";
/// The ClickHouse type of money.
pub const MONEY: &str = "Decimal(38, 2)";

/// The `DateTime` shown for a timestamp: whole seconds, clamped to what `DateTime` holds (the
/// exact value is in the `_us` column).
fn datetime_seconds(t: Micros) -> u32 {
    t.div_euclid(MICROS_PER_SECOND)
        .clamp(0, i64::from(u32::MAX)) as u32
}

/// A view stored in ClickHouse: its columns, in the order of `VIEWS.md` (and of the Parquet
/// files). Text is `String`; a nullable text is stored as `<name>_value String` ('' for null)
/// and `<name>_is_null UInt8` (both usable in the sorting key) and shown as
/// `Nullable(String)`; a timestamp is `<name> DateTime('UTC')` (whole seconds, for people and
/// SQL) and `<name>_us Int64` (exact microseconds, the key and what is read back); money is
/// `Decimal(38, 2)`; rates are `Nullable(Float64)`.
pub(crate) struct Table {
    view: &'static str,
    columns: &'static [Column],
}

impl Table {
    /// The view `view` with columns `columns`.
    pub(crate) fn new(view: &'static str, columns: &'static [Column]) -> Self {
        Table { view, columns }
    }

    /// The view's name.
    pub(crate) fn view(&self) -> &'static str {
        self.view
    }

    /// The view's columns.
    pub(crate) fn columns(&self) -> &'static [Column] {
        self.columns
    }

    /// The storage table's columns with their types, in order (ending with `version` and
    /// `is_deleted`).
    pub(crate) fn store_columns(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for c in self.columns {
            let n = &c.name;
            match c.ty {
                ColumnType::Text | ColumnType::Json => out.push((n.to_string(), "String")),
                ColumnType::Int => out.push((n.to_string(), "Int64")),
                ColumnType::Timestamp => {
                    out.push((n.to_string(), DATETIME));
                    out.push((format!("{n}{MICROS_SUFFIX}"), "Int64"));
                }
                ColumnType::Money => out.push((n.to_string(), MONEY)),
                ColumnType::Rate => out.push((n.to_string(), "Nullable(Float64)")),
                ColumnType::OptText => {
                    out.push((format!("{n}{VALUE_SUFFIX}"), "String"));
                    out.push((format!("{n}{IS_NULL_SUFFIX}"), "UInt8"));
                }
            }
        }
        out.push(("version".into(), "UInt64"));
        out.push(("is_deleted".into(), "UInt8"));
        out
    }

    /// The storage table's sorting key (the view's key columns, as stored).
    pub(crate) fn order_by(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.columns.iter().filter(|c| c.is_key()) {
            let n = &c.name;
            match c.ty {
                ColumnType::Timestamp => out.push(format!("{n}{MICROS_SUFFIX}")),
                ColumnType::OptText => {
                    out.push(format!("{n}{VALUE_SUFFIX}"));
                    out.push(format!("{n}{IS_NULL_SUFFIX}"));
                }
                _ => out.push(n.to_string()),
            }
        }
        out
    }

    /// The view's columns: `(expression over the store, name)`, the `VIEWS.md` columns first,
    /// then the `<name>_us` of every timestamp.
    pub(crate) fn view_columns(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in self.columns {
            let n = &c.name;
            let expr = match c.ty {
                ColumnType::OptText => {
                    format!("if({n}{IS_NULL_SUFFIX} = 1, NULL, {n}{VALUE_SUFFIX})")
                }
                _ => n.to_string(),
            };
            out.push((expr, n.to_string()));
        }
        for c in self.timestamps() {
            let n = format!("{}{MICROS_SUFFIX}", c.name);
            out.push((n.clone(), n));
        }
        out
    }

    fn timestamps(&self) -> impl Iterator<Item = &'static Column> {
        self.columns
            .iter()
            .filter(|c| c.ty == ColumnType::Timestamp)
    }

    /// Appends the RowBinary encoding of the key cells of a row (to group changes by key).
    pub(crate) fn encode_key(&self, cells: &[Cell<'_>], out: &mut Vec<u8>) {
        for (_, cell) in self.columns.iter().zip(cells).filter(|(c, _)| c.is_key()) {
            match *cell {
                Cell::Text(s) => rb::put_str(out, s),
                Cell::Int(v) | Cell::Timestamp(v) => rb::put_i64(out, v),
                Cell::Money(v) => rb::put_i128(out, v),
                Cell::OptText(v) => {
                    rb::put_u8(out, u8::from(v.is_none()));
                    rb::put_str(out, v.unwrap_or_default());
                }
                Cell::Rate(_) => {}
            }
        }
    }

    /// Appends a row's cells in RowBinary as a row of the storage table.
    pub(crate) fn encode_row(
        &self,
        cells: &[Cell<'_>],
        version: u64,
        deleted: bool,
        out: &mut Vec<u8>,
    ) {
        for cell in cells {
            match *cell {
                Cell::Text(s) => rb::put_str(out, s),
                Cell::Int(v) => rb::put_i64(out, v),
                Cell::Money(v) => rb::put_i128(out, v),
                Cell::Timestamp(t) => {
                    rb::put_u32(out, datetime_seconds(t));
                    rb::put_i64(out, t);
                }
                Cell::Rate(v) => rb::put_opt_f64(out, v),
                Cell::OptText(v) => {
                    rb::put_str(out, v.unwrap_or_default());
                    rb::put_u8(out, u8::from(v.is_none()));
                }
            }
        }
        rb::put_u64(out, version);
        rb::put_u8(out, u8::from(deleted));
    }

    /// Reads one row of the view's answer (`SELECT * FROM <view> FORMAT RowBinary`) into
    /// `values`, one per column (`None` for the derived ones); timestamps are read exactly
    /// from their `<name>_us` companions.
    pub(crate) fn read_values(
        &self,
        reader: &mut Reader,
        values: &mut Vec<Option<Value>>,
    ) -> Result<(), String> {
        values.clear();
        for c in self.columns {
            let value = match c.ty {
                ColumnType::Text | ColumnType::Json => Value::Text(reader.string()?),
                ColumnType::Int => Value::Int(reader.i64()?),
                ColumnType::Money => Value::Money(reader.i128()?),
                ColumnType::Timestamp => {
                    reader.u32()?;
                    Value::Timestamp(0)
                }
                ColumnType::Rate => {
                    reader.opt_f64()?;
                    Value::Int(0)
                }
                ColumnType::OptText => Value::OptText(reader.opt_string()?),
            };
            values.push(c.is_read_back().then_some(value));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if c.ty == ColumnType::Timestamp {
                let exact = reader.i64()?;
                if c.is_read_back() {
                    values[i] = Some(Value::Timestamp(exact));
                }
            }
        }
        Ok(())
    }
}
