//! Building an Arrow batch from rows, one column per call: each view's encoder is a short
//! chain of `(name, accessor)` pairs whose method picks the Arrow type of `VIEWS.md`.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use pulso_events::money::CentsTotal;
use pulso_events::time::Micros;

use crate::SinkError;

/// Precision of the money columns: DECIMAL(38, 2), room for any sum of accepted amounts.
pub const MONEY_PRECISION: u8 = 38;
/// Scale of the money columns (minor units).
pub const MONEY_SCALE: i8 = 2;
/// Time zone of the timestamp columns.
pub const TIMESTAMP_ZONE: &str = "UTC";

/// The columns built so far for `rows`.
pub(crate) struct Columns<'a, T> {
    rows: &'a [T],
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl<'a, T> Columns<'a, T> {
    /// No columns yet over `rows`.
    pub(crate) fn new(rows: &'a [T]) -> Self {
        Columns {
            rows,
            fields: Vec::new(),
            arrays: Vec::new(),
        }
    }

    fn push(mut self, name: &str, nullable: bool, array: ArrayRef) -> Self {
        self.fields
            .push(Field::new(name, array.data_type().clone(), nullable));
        self.arrays.push(array);
        self
    }

    /// A non-null UTF8 column.
    pub(crate) fn utf8(self, name: &str, f: impl Fn(&T) -> &str) -> Self {
        let array = StringArray::from_iter_values(self.rows.iter().map(f));
        self.push(name, false, Arc::new(array))
    }

    /// A nullable UTF8 column.
    pub(crate) fn opt_utf8(self, name: &str, f: impl Fn(&T) -> Option<&str>) -> Self {
        let array: StringArray = self.rows.iter().map(f).collect();
        self.push(name, true, Arc::new(array))
    }

    /// A non-null INT64 column (counts, ids, micro-hours).
    pub(crate) fn int64(self, name: &str, f: impl Fn(&T) -> i64) -> Self {
        let array = Int64Array::from_iter_values(self.rows.iter().map(f));
        self.push(name, false, Arc::new(array))
    }

    /// A non-null TIMESTAMP(MICROSECOND, UTC) column.
    pub(crate) fn timestamp(self, name: &str, f: impl Fn(&T) -> Micros) -> Self {
        let array = TimestampMicrosecondArray::from_iter_values(self.rows.iter().map(f))
            .with_timezone(TIMESTAMP_ZONE);
        self.push(name, false, Arc::new(array))
    }

    /// A non-null DECIMAL(38, 2) money column from integer cents.
    pub(crate) fn money(self, name: &str, f: impl Fn(&T) -> CentsTotal) -> Self {
        let array = Decimal128Array::from_iter_values(self.rows.iter().map(f))
            .with_data_type(DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE));
        self.push(name, false, Arc::new(array))
    }

    /// A nullable DOUBLE column (rates and averages; `None` when undefined).
    pub(crate) fn rate(self, name: &str, f: impl Fn(&T) -> Option<f64>) -> Self {
        let array: Float64Array = self.rows.iter().map(f).collect();
        self.push(name, true, Arc::new(array))
    }

    /// The batch of all columns, in the order they were added.
    pub(crate) fn finish(self) -> Result<RecordBatch, SinkError> {
        let schema = Arc::new(Schema::new(self.fields));
        Ok(RecordBatch::try_new(schema, self.arrays)?)
    }
}
