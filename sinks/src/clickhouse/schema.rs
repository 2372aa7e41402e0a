//! The column model shared by the DDL, the writer and the reader: each view is a list of typed
//! columns (some of them key columns) with an accessor, from which follow the storage table's
//! columns and sorting key, the ClickHouse view over it, the RowBinary encoding of a row and
//! the decoding of the view's rows.

use std::collections::HashMap;

use pulso_events::money::CentsTotal;
use pulso_events::time::{Granularity, Micros, MICROS_PER_SECOND};
use pulso_events::views::{SlaStatus, ViewSet};

use super::error::ClickHouseError;
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

/// An accessor of one column of rows `T` giving `V`.
type Get<T, V> = Box<dyn Fn(&T) -> V + Send + Sync>;
/// An accessor of a string column.
type GetStr<T> = Box<dyn Fn(&T) -> &str + Send + Sync>;
/// An accessor of a nullable string column.
type GetOptStr<T> = Box<dyn Fn(&T) -> Option<&str> + Send + Sync>;

/// How one column of a view is read from a row.
enum Getter<T> {
    Str(GetStr<T>),
    Int(Get<T, i64>),
    Time(Get<T, Micros>),
    Money(Get<T, CentsTotal>),
    Rate(Get<T, Option<f64>>),
    OptStr(GetOptStr<T>),
}

/// One column of a view.
struct Column<T> {
    name: String,
    key: bool,
    get: Getter<T>,
}

/// One decoded cell of a view's answer.
#[derive(Debug)]
enum Cell {
    Str(String),
    Int(i64),
    Money(CentsTotal),
    Rate,
    OptStr(Option<String>),
    DateTime,
}

/// One row of a view's answer, with its cells looked up by column name.
pub(crate) struct Row<'a> {
    index: &'a HashMap<String, usize>,
    cells: &'a [Cell],
}

impl Row<'_> {
    fn cell(&self, name: &str) -> Result<&Cell, String> {
        self.index
            .get(name)
            .map(|&i| &self.cells[i])
            .ok_or_else(|| format!("no column {name}"))
    }

    /// A `String` column.
    pub(crate) fn string(&self, name: &str) -> Result<String, String> {
        match self.cell(name)? {
            Cell::Str(s) => Ok(s.clone()),
            other => Err(format!("{name}: expected a string, found {other:?}")),
        }
    }

    /// A `Nullable(String)` column.
    pub(crate) fn opt_string(&self, name: &str) -> Result<Option<String>, String> {
        match self.cell(name)? {
            Cell::OptStr(s) => Ok(s.clone()),
            other => Err(format!(
                "{name}: expected a nullable string, found {other:?}"
            )),
        }
    }

    /// An `Int64` column.
    pub(crate) fn int64(&self, name: &str) -> Result<i64, String> {
        match self.cell(name)? {
            Cell::Int(v) => Ok(*v),
            other => Err(format!("{name}: expected an integer, found {other:?}")),
        }
    }

    /// A `Decimal(38, 2)` money column, in minor units.
    pub(crate) fn money(&self, name: &str) -> Result<CentsTotal, String> {
        match self.cell(name)? {
            Cell::Money(v) => Ok(*v),
            other => Err(format!("{name}: expected money, found {other:?}")),
        }
    }

    /// A timestamp column, exactly, from its `<name>_us` companion.
    pub(crate) fn time(&self, name: &str) -> Result<Micros, String> {
        self.int64(&format!("{name}{MICROS_SUFFIX}"))
    }

    /// A granularity (`minute`, `hour`, `day`).
    pub(crate) fn granularity(&self, name: &str) -> Result<Granularity, String> {
        let text = self.string(name)?;
        Granularity::ALL
            .into_iter()
            .find(|g| g.as_str() == text)
            .ok_or_else(|| format!("{name}: unknown granularity {text:?}"))
    }

    /// An SLA status (`BREACHED`, `AT_RISK`, `ON_TRACK`).
    pub(crate) fn status(&self, name: &str) -> Result<SlaStatus, String> {
        let text = self.string(name)?;
        [SlaStatus::Breached, SlaStatus::AtRisk, SlaStatus::OnTrack]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("{name}: unknown status {text:?}"))
    }
}

/// The `DateTime` shown for a timestamp: whole seconds, clamped to what `DateTime` holds (the
/// exact value is in the `_us` column).
fn datetime_seconds(t: Micros) -> u32 {
    t.div_euclid(MICROS_PER_SECOND)
        .clamp(0, i64::from(u32::MAX)) as u32
}

/// A view stored in ClickHouse: its columns, in the order of `VIEWS.md` (and of the Parquet
/// files), and how rows of type `T` are decoded and collected.
pub(crate) struct Table<T> {
    view: &'static str,
    columns: Vec<Column<T>>,
    decode: fn(&Row) -> Result<T, String>,
    push: fn(T, &mut ViewSet),
}

impl<T> Table<T> {
    /// A view named `view` without columns yet.
    pub(crate) fn new(
        view: &'static str,
        decode: fn(&Row) -> Result<T, String>,
        push: fn(T, &mut ViewSet),
    ) -> Self {
        Table {
            view,
            columns: Vec::new(),
            decode,
            push,
        }
    }

    fn column(mut self, name: &str, key: bool, get: Getter<T>) -> Self {
        self.columns.push(Column {
            name: name.to_owned(),
            key,
            get,
        });
        self
    }

    /// A `String` column, part of the key when `key`.
    pub(crate) fn str(
        self,
        name: &str,
        key: bool,
        f: impl Fn(&T) -> &str + Send + Sync + 'static,
    ) -> Self {
        self.column(name, key, Getter::Str(Box::new(f)))
    }

    /// A nullable string, stored as `<name>_value String` ('' for null) and
    /// `<name>_is_null UInt8` (both usable in the sorting key), shown as `Nullable(String)`.
    pub(crate) fn opt_str(
        self,
        name: &str,
        key: bool,
        f: impl Fn(&T) -> Option<&str> + Send + Sync + 'static,
    ) -> Self {
        self.column(name, key, Getter::OptStr(Box::new(f)))
    }

    /// An `Int64` column.
    pub(crate) fn int(
        self,
        name: &str,
        key: bool,
        f: impl Fn(&T) -> i64 + Send + Sync + 'static,
    ) -> Self {
        self.column(name, key, Getter::Int(Box::new(f)))
    }

    /// A timestamp: `<name> DateTime('UTC')` (whole seconds, for people and SQL) and
    /// `<name>_us Int64` (exact microseconds, the key and what is read back).
    pub(crate) fn time(
        self,
        name: &str,
        key: bool,
        f: impl Fn(&T) -> Micros + Send + Sync + 'static,
    ) -> Self {
        self.column(name, key, Getter::Time(Box::new(f)))
    }

    /// A `Decimal(38, 2)` money column from minor units.
    pub(crate) fn money(
        self,
        name: &str,
        f: impl Fn(&T) -> CentsTotal + Send + Sync + 'static,
    ) -> Self {
        self.column(name, false, Getter::Money(Box::new(f)))
    }

    /// A `Nullable(Float64)` rate or average.
    pub(crate) fn rate(
        self,
        name: &str,
        f: impl Fn(&T) -> Option<f64> + Send + Sync + 'static,
    ) -> Self {
        self.column(name, false, Getter::Rate(Box::new(f)))
    }

    /// The view's name.
    pub(crate) fn view(&self) -> &'static str {
        self.view
    }

    /// The storage table's columns with their types, in order (ending with `version` and
    /// `is_deleted`).
    pub(crate) fn store_columns(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        for c in &self.columns {
            let n = &c.name;
            match c.get {
                Getter::Str(_) => out.push((n.clone(), "String")),
                Getter::Int(_) => out.push((n.clone(), "Int64")),
                Getter::Time(_) => {
                    out.push((n.clone(), DATETIME));
                    out.push((format!("{n}{MICROS_SUFFIX}"), "Int64"));
                }
                Getter::Money(_) => out.push((n.clone(), MONEY)),
                Getter::Rate(_) => out.push((n.clone(), "Nullable(Float64)")),
                Getter::OptStr(_) => {
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
        for c in self.columns.iter().filter(|c| c.key) {
            let n = &c.name;
            match c.get {
                Getter::Time(_) => out.push(format!("{n}{MICROS_SUFFIX}")),
                Getter::OptStr(_) => {
                    out.push(format!("{n}{VALUE_SUFFIX}"));
                    out.push(format!("{n}{IS_NULL_SUFFIX}"));
                }
                _ => out.push(n.clone()),
            }
        }
        out
    }

    /// The view's columns: `(expression over the store, name)`, the `VIEWS.md` columns first,
    /// then the `<name>_us` of every timestamp.
    pub(crate) fn view_columns(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in &self.columns {
            let n = &c.name;
            let expr = match c.get {
                Getter::OptStr(_) => {
                    format!("if({n}{IS_NULL_SUFFIX} = 1, NULL, {n}{VALUE_SUFFIX})")
                }
                _ => n.clone(),
            };
            out.push((expr, n.clone()));
        }
        for c in &self.columns {
            if let Getter::Time(_) = c.get {
                let n = format!("{}{MICROS_SUFFIX}", c.name);
                out.push((n.clone(), n));
            }
        }
        out
    }

    /// Appends the RowBinary encoding of the key columns of `row` (to group changes by key).
    pub(crate) fn encode_key(&self, row: &T, out: &mut Vec<u8>) {
        for c in self.columns.iter().filter(|c| c.key) {
            match &c.get {
                Getter::Str(f) => rb::put_str(out, f(row)),
                Getter::Int(f) | Getter::Time(f) => rb::put_i64(out, f(row)),
                Getter::Money(f) => rb::put_i128(out, f(row)),
                Getter::OptStr(f) => {
                    let v = f(row);
                    rb::put_u8(out, u8::from(v.is_none()));
                    rb::put_str(out, v.unwrap_or_default());
                }
                Getter::Rate(_) => {}
            }
        }
    }

    /// Appends `row` in RowBinary as a row of the storage table.
    pub(crate) fn encode_row(&self, row: &T, version: u64, deleted: bool, out: &mut Vec<u8>) {
        for c in &self.columns {
            match &c.get {
                Getter::Str(f) => rb::put_str(out, f(row)),
                Getter::Int(f) => rb::put_i64(out, f(row)),
                Getter::Money(f) => rb::put_i128(out, f(row)),
                Getter::Time(f) => {
                    let t = f(row);
                    rb::put_u32(out, datetime_seconds(t));
                    rb::put_i64(out, t);
                }
                Getter::Rate(f) => rb::put_opt_f64(out, f(row)),
                Getter::OptStr(f) => {
                    let v = f(row);
                    rb::put_str(out, v.unwrap_or_default());
                    rb::put_u8(out, u8::from(v.is_none()));
                }
            }
        }
        rb::put_u64(out, version);
        rb::put_u8(out, u8::from(deleted));
    }

    /// Decodes the view's answer (`SELECT * FROM <view> FORMAT RowBinary`) into `views`.
    pub(crate) fn decode_into(
        &self,
        data: &[u8],
        views: &mut ViewSet,
    ) -> Result<(), ClickHouseError> {
        let err = |message: String| ClickHouseError::Decode {
            table: self.view.to_owned(),
            message,
        };
        let columns = self.view_columns();
        let index: HashMap<String, usize> = columns
            .iter()
            .enumerate()
            .map(|(i, (_, name))| (name.clone(), i))
            .collect();
        let mut reader = Reader::new(data);
        let mut cells = Vec::with_capacity(columns.len());
        while !reader.is_empty() {
            cells.clear();
            self.read_cells(&mut reader, &mut cells).map_err(err)?;
            let row = Row {
                index: &index,
                cells: &cells,
            };
            let value = (self.decode)(&row).map_err(err)?;
            (self.push)(value, views);
        }
        Ok(())
    }

    fn read_cells(&self, reader: &mut Reader, cells: &mut Vec<Cell>) -> Result<(), String> {
        for c in &self.columns {
            let cell = match c.get {
                Getter::Str(_) => Cell::Str(reader.string()?),
                Getter::Int(_) => Cell::Int(reader.i64()?),
                Getter::Money(_) => Cell::Money(reader.i128()?),
                Getter::Time(_) => {
                    reader.u32()?;
                    Cell::DateTime
                }
                Getter::Rate(_) => {
                    reader.opt_f64()?;
                    Cell::Rate
                }
                Getter::OptStr(_) => Cell::OptStr(reader.opt_string()?),
            };
            cells.push(cell);
        }
        for c in &self.columns {
            if let Getter::Time(_) = c.get {
                cells.push(Cell::Int(reader.i64()?));
            }
        }
        Ok(())
    }
}
