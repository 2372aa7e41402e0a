//! The column model of the registry: a column's name, type and role; the cells a row gives
//! for its columns; and the decoded values a sink reads back, from which a row is rebuilt.

use std::borrow::Cow;

use crate::money::CentsTotal;
use crate::time::{Granularity, Micros};
use crate::views::SlaStatus;

/// The type of a column, from which each output picks its own (Parquet, ClickHouse, JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Non-null text (Parquet UTF8, ClickHouse `String`, JSON string).
    Text,
    /// Nullable text.
    OptText,
    /// A 64-bit integer: counts, ids, micro-hours.
    Int,
    /// A UTC instant in microseconds (Parquet TIMESTAMP(MICROS, UTC); ClickHouse
    /// `DateTime('UTC')` plus the exact `<name>_us`; JSON RFC 3339).
    Timestamp,
    /// Money in minor units (DECIMAL(38, 2); JSON number with two decimals).
    Money,
    /// A nullable rate or average (DOUBLE; `null` when undefined).
    Rate,
    /// JSON object text: text in files and tables, a parsed object in the API.
    Json,
}

impl ColumnType {
    /// Whether the column may hold nulls.
    pub fn nullable(self) -> bool {
        matches!(self, ColumnType::OptText | ColumnType::Rate)
    }
}

/// What a column is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Part of the row's identity (the ClickHouse sorting key); read back; served.
    Key,
    /// A value; read back; served.
    Value,
    /// Computed from the other columns (rates, averages, totals): written and served, not
    /// read back.
    Derived,
    /// An exact quantity behind a derived column: written and read back, not served by the API.
    Hidden,
}

/// One column of a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name in every output.
    pub name: Cow<'static, str>,
    /// Its type.
    pub ty: ColumnType,
    /// Its role.
    pub role: Role,
    /// What it holds, when the API documents it.
    pub doc: Option<&'static str>,
    /// Whether its values are mostly distinct (event ids, JSON summaries): files store them
    /// plainly, since a dictionary of distinct values costs time and room and saves nothing.
    pub distinct: bool,
}

impl Column {
    /// A column `name` of type `ty` and role `role`.
    pub const fn new(name: &'static str, ty: ColumnType, role: Role) -> Column {
        Column {
            name: Cow::Borrowed(name),
            ty,
            role,
            doc: None,
            distinct: false,
        }
    }

    /// A key column.
    pub const fn key(name: &'static str, ty: ColumnType) -> Column {
        Column::new(name, ty, Role::Key)
    }

    /// A value column.
    pub const fn value(name: &'static str, ty: ColumnType) -> Column {
        Column::new(name, ty, Role::Value)
    }

    /// A derived column.
    pub const fn derived(name: &'static str, ty: ColumnType) -> Column {
        Column::new(name, ty, Role::Derived)
    }

    /// A hidden column.
    pub const fn hidden(name: &'static str, ty: ColumnType) -> Column {
        Column::new(name, ty, Role::Hidden)
    }

    /// The column documented as `doc`.
    pub const fn with_doc(mut self, doc: &'static str) -> Column {
        self.doc = Some(doc);
        self
    }

    /// The column with mostly distinct values (see [`Column::distinct`]).
    pub const fn distinct(mut self) -> Column {
        self.distinct = true;
        self
    }

    /// Whether it is part of the row's identity.
    pub fn is_key(&self) -> bool {
        self.role == Role::Key
    }

    /// Whether a row is rebuilt from it (every column but the derived ones).
    pub fn is_read_back(&self) -> bool {
        self.role != Role::Derived
    }

    /// Whether the API serves it (every column but the hidden ones).
    pub fn is_served(&self) -> bool {
        self.role != Role::Hidden
    }
}

/// One cell of a row, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// A [`ColumnType::Text`] or [`ColumnType::Json`] cell.
    Text(&'a str),
    /// A [`ColumnType::OptText`] cell.
    OptText(Option<&'a str>),
    /// A [`ColumnType::Int`] cell.
    Int(i64),
    /// A [`ColumnType::Timestamp`] cell.
    Timestamp(Micros),
    /// A [`ColumnType::Money`] cell.
    Money(CentsTotal),
    /// A [`ColumnType::Rate`] cell.
    Rate(Option<f64>),
}

/// One cell read back by a sink.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text (also JSON text).
    Text(String),
    /// Nullable text.
    OptText(Option<String>),
    /// An integer.
    Int(i64),
    /// A UTC instant in microseconds.
    Timestamp(Micros),
    /// Money in minor units.
    Money(CentsTotal),
}

/// Why a row could not be rebuilt from its cells.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    /// The reader did not give the column.
    #[error("missing column `{0}`")]
    Missing(String),
    /// The column's cell has another type.
    #[error("column `{column}`: expected {expected}, found {found}")]
    Type {
        /// The column.
        column: String,
        /// What the view needs.
        expected: &'static str,
        /// What was read.
        found: String,
    },
    /// The cell's value is not one the column can hold.
    #[error("invalid value {value} in column `{column}`")]
    Invalid {
        /// The column.
        column: String,
        /// The value, quoted.
        value: String,
    },
}

/// The cells of one row read back, by column (`None`: not read, or already taken).
#[derive(Debug)]
pub struct Record<'a> {
    columns: &'a [Column],
    values: &'a mut [Option<Value>],
}

impl<'a> Record<'a> {
    /// The cells `values` of `columns` (one per column, in order).
    pub fn new(columns: &'a [Column], values: &'a mut [Option<Value>]) -> Self {
        Record { columns, values }
    }

    /// Takes the cell of column `name`.
    fn take(&mut self, name: &str) -> Result<Value, CellError> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| self.values.get_mut(i))
            .and_then(Option::take)
            .ok_or_else(|| CellError::Missing(name.to_owned()))
    }

    fn wrong(name: &str, expected: &'static str, found: Value) -> CellError {
        CellError::Type {
            column: name.to_owned(),
            expected,
            found: format!("{found:?}"),
        }
    }

    /// A text cell.
    pub fn text(&mut self, name: &str) -> Result<String, CellError> {
        match self.take(name)? {
            Value::Text(s) => Ok(s),
            other => Err(Self::wrong(name, "text", other)),
        }
    }

    /// A nullable text cell.
    pub fn opt_text(&mut self, name: &str) -> Result<Option<String>, CellError> {
        match self.take(name)? {
            Value::OptText(s) => Ok(s),
            other => Err(Self::wrong(name, "nullable text", other)),
        }
    }

    /// An integer cell.
    pub fn int(&mut self, name: &str) -> Result<i64, CellError> {
        match self.take(name)? {
            Value::Int(v) => Ok(v),
            other => Err(Self::wrong(name, "an integer", other)),
        }
    }

    /// A timestamp cell.
    pub fn timestamp(&mut self, name: &str) -> Result<Micros, CellError> {
        match self.take(name)? {
            Value::Timestamp(v) => Ok(v),
            other => Err(Self::wrong(name, "a timestamp", other)),
        }
    }

    /// A money cell, in minor units.
    pub fn money(&mut self, name: &str) -> Result<CentsTotal, CellError> {
        match self.take(name)? {
            Value::Money(v) => Ok(v),
            other => Err(Self::wrong(name, "money", other)),
        }
    }

    /// A granularity (`minute`, `hour`, `day`), from a text cell.
    pub fn granularity(&mut self, name: &str) -> Result<Granularity, CellError> {
        let text = self.text(name)?;
        Granularity::ALL
            .into_iter()
            .find(|g| g.as_str() == text)
            .ok_or_else(|| invalid(name, &text))
    }

    /// An SLA status (`BREACHED`, `AT_RISK`, `ON_TRACK`), from a text cell.
    pub fn status(&mut self, name: &str) -> Result<SlaStatus, CellError> {
        let text = self.text(name)?;
        [SlaStatus::Breached, SlaStatus::AtRisk, SlaStatus::OnTrack]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| invalid(name, &text))
    }
}

fn invalid(name: &str, text: &str) -> CellError {
    CellError::Invalid {
        column: name.to_owned(),
        value: format!("{text:?}"),
    }
}
