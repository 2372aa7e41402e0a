//! Reading a view's rows back from a batch: each read-back column of the registry is looked
//! up by name and checked to have the Arrow type Pulso writes (and, unless nullable, no
//! nulls); the derived columns are skipped.

use arrow::array::{Array, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use pulso_events::registry::{ColumnType, Record, Value, View};
use pulso_events::views::ViewSet;

use super::columns::MONEY_SCALE;
use crate::SinkError;

/// One batch of a view file.
pub(crate) struct Batch<'a> {
    file: &'a str,
    batch: &'a RecordBatch,
}

/// One read-back column of a batch, typed.
enum Source<'a> {
    Text(&'a StringArray, bool),
    Int(&'a Int64Array),
    Timestamp(&'a TimestampMicrosecondArray),
    Money(&'a Decimal128Array),
    Skipped,
}

impl<'a> Batch<'a> {
    /// The batch `batch` read from the file of view `file`.
    pub(crate) fn new(file: &'a str, batch: &'a RecordBatch) -> Self {
        Batch { file, batch }
    }

    fn error(&self, message: String) -> SinkError {
        SinkError::Schema {
            file: self.file.to_owned(),
            message,
        }
    }

    /// The column `name`, as the array type `A`.
    fn column<A: Array + 'static>(&self, name: &str) -> Result<&'a A, SinkError> {
        let column = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| self.error(format!("missing column `{name}`")))?;
        column.as_any().downcast_ref::<A>().ok_or_else(|| {
            self.error(format!(
                "column `{name}` has type {}, not {}",
                column.data_type(),
                std::any::type_name::<A>()
                    .rsplit("::")
                    .next()
                    .unwrap_or_default()
            ))
        })
    }

    /// Appends every row of the batch, as rows of view `V`, to `out`.
    pub(crate) fn decode_into<V: View>(&self, out: &mut Vec<V>) -> Result<(), SinkError> {
        let columns = V::columns();
        let mut sources = Vec::with_capacity(columns.len());
        for c in columns {
            let name = c.name.as_ref();
            sources.push(match c.ty {
                _ if !c.is_read_back() => Source::Skipped,
                ColumnType::Text | ColumnType::Json => Source::Text(self.column(name)?, false),
                ColumnType::OptText => Source::Text(self.column(name)?, true),
                ColumnType::Int => Source::Int(self.column(name)?),
                ColumnType::Timestamp => Source::Timestamp(self.column(name)?),
                ColumnType::Money => {
                    let array: &Decimal128Array = self.column(name)?;
                    if array.scale() != MONEY_SCALE {
                        return Err(self.error(format!(
                            "invalid value with scale {} in column `{name}` at row 0",
                            array.scale()
                        )));
                    }
                    Source::Money(array)
                }
                ColumnType::Rate => Source::Skipped,
            });
        }
        out.reserve(self.batch.num_rows());
        let mut values: Vec<Option<Value>> = Vec::with_capacity(columns.len());
        for index in 0..self.batch.num_rows() {
            values.clear();
            for (column, source) in columns.iter().zip(&sources) {
                let null = |array: &dyn Array| array.is_null(index);
                let value = match source {
                    Source::Skipped => None,
                    Source::Text(a, true) => Some(Value::OptText(
                        (!null(*a)).then(|| a.value(index).to_owned()),
                    )),
                    Source::Text(a, false) if !null(*a) => {
                        Some(Value::Text(a.value(index).to_owned()))
                    }
                    Source::Int(a) if !null(*a) => Some(Value::Int(a.value(index))),
                    Source::Timestamp(a) if !null(*a) => Some(Value::Timestamp(a.value(index))),
                    Source::Money(a) if !null(*a) => Some(Value::Money(a.value(index))),
                    _ => {
                        return Err(
                            self.error(format!("null in column `{}` at row {index}", column.name))
                        )
                    }
                };
                values.push(value);
            }
            let row = V::from_record(&mut Record::new(columns, &mut values))
                .map_err(|e| self.error(format!("{e} at row {index}")))?;
            out.push(row);
        }
        Ok(())
    }
}

/// Appends the rows of view `V` in `batch` (of the file of `V`) to `views`.
pub(crate) fn decode_set<V: View>(batch: &Batch, views: &mut ViewSet) -> Result<(), SinkError> {
    batch.decode_into(V::rows_mut(views))
}
