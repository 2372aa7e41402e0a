//! The tables of every view of the registry, in registry order, plus the `as_of` table: the
//! SQL that creates the storage tables and the views over them, the RowBinary of each change
//! and the decoding of each view's rows.

use std::any::TypeId;
use std::marker::PhantomData;

use pulso_events::registry::{
    visit_views, Cell, Column, ColumnType, Record, RowVisitor, View, ViewVisitor,
};
use pulso_events::views::{ViewRow, ViewSet};

use super::rowbinary::Reader;
use super::schema::{Table, STORE_SUFFIX};
use super::ClickHouseError;

/// The view holding the instant `open_case_sla` was graded at (`ViewSet::as_of`).
pub const AS_OF_VIEW: &str = "as_of";

/// The columns of the `as_of` table: one row, keyed by the view it grades.
const AS_OF_COLUMNS: &[Column] = &[
    Column::key("view", ColumnType::Text),
    Column::value("as_of", ColumnType::Timestamp),
];

/// What the sink needs of a table whatever its row type.
pub(crate) trait AnyTable: Send + Sync {
    /// Its columns.
    fn table(&self) -> &Table;
    /// Decodes the view's RowBinary answer into `views`.
    fn decode_into(&self, data: &[u8], views: &mut ViewSet) -> Result<(), ClickHouseError>;

    /// The view's name.
    fn name(&self) -> &'static str {
        self.table().view()
    }

    /// `CREATE TABLE IF NOT EXISTS <db>.<view>_store ...`.
    fn create_store_sql(&self, db: &str) -> String {
        let table = self.table();
        let columns: Vec<String> = table
            .store_columns()
            .into_iter()
            .map(|(name, ty)| format!("{name} {ty}"))
            .collect();
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.{}{STORE_SUFFIX} ({}) \
             ENGINE = ReplacingMergeTree(version) ORDER BY ({})",
            table.view(),
            columns.join(", "),
            table.order_by().join(", ")
        )
    }

    /// `CREATE VIEW IF NOT EXISTS <db>.<view> AS SELECT ... FINAL WHERE is_deleted = 0`.
    fn create_view_sql(&self, db: &str) -> String {
        let columns: Vec<String> = self
            .table()
            .view_columns()
            .into_iter()
            .map(|(expr, name)| {
                if expr == name {
                    name
                } else {
                    format!("{expr} AS {name}")
                }
            })
            .collect();
        format!(
            "CREATE VIEW IF NOT EXISTS {db}.{v} AS SELECT {} FROM {db}.{v}{STORE_SUFFIX} FINAL \
             WHERE is_deleted = 0",
            columns.join(", "),
            v = self.name()
        )
    }

    /// `INSERT INTO <db>.<view>_store (...) FORMAT RowBinary`.
    fn insert_sql(&self, db: &str) -> String {
        format!(
            "INSERT INTO {db}.{}{STORE_SUFFIX} ({}) FORMAT RowBinary",
            self.name(),
            self.store_column_names().join(", ")
        )
    }

    /// The names of the view's columns, in order.
    fn view_column_names(&self) -> Vec<String> {
        let columns = self.table().view_columns();
        columns.into_iter().map(|(_, n)| n).collect()
    }

    /// The names of the storage table's columns, in order.
    fn store_column_names(&self) -> Vec<String> {
        let columns = self.table().store_columns();
        columns.into_iter().map(|(n, _)| n).collect()
    }
}

/// Reads every row of `data` (an answer of `table`'s view), giving each row's cells to `row`.
fn decode_rows(
    table: &Table,
    data: &[u8],
    mut row: impl FnMut(&mut Record<'_>) -> Result<(), String>,
) -> Result<(), ClickHouseError> {
    let err = |message: String| ClickHouseError::Decode {
        table: table.view().to_owned(),
        message,
    };
    let mut reader = Reader::new(data);
    let mut values = Vec::with_capacity(table.columns().len());
    while !reader.is_empty() {
        table.read_values(&mut reader, &mut values).map_err(err)?;
        row(&mut Record::new(table.columns(), &mut values)).map_err(err)?;
    }
    Ok(())
}

/// The table of view `V`.
struct ViewTable<V> {
    table: Table,
    row: PhantomData<fn() -> V>,
}

impl<V: View> AnyTable for ViewTable<V> {
    fn table(&self) -> &Table {
        &self.table
    }

    fn decode_into(&self, data: &[u8], views: &mut ViewSet) -> Result<(), ClickHouseError> {
        decode_rows(&self.table, data, |record| {
            let row = V::from_record(record).map_err(|e| e.to_string())?;
            V::rows_mut(views).push(row);
            Ok(())
        })
    }
}

/// The `as_of` table.
struct AsOfTable(Table);

impl AnyTable for AsOfTable {
    fn table(&self) -> &Table {
        &self.0
    }

    fn decode_into(&self, data: &[u8], views: &mut ViewSet) -> Result<(), ClickHouseError> {
        decode_rows(&self.0, data, |record| {
            views.as_of = Some(record.timestamp("as_of").map_err(|e| e.to_string())?);
            Ok(())
        })
    }
}

/// Every view's table, in registry order, then `as_of`.
pub(crate) struct Tables {
    tables: Vec<Box<dyn AnyTable>>,
    /// The row type of each view's table, in the same order.
    types: Vec<TypeId>,
}

/// Appends a row's key or whole RowBinary encoding, and gives its table's position.
struct Encode<'t, 'o> {
    tables: &'t Tables,
    out: &'o mut Vec<u8>,
    /// `None`: the key only; else the row's version and whether it is a tombstone.
    row: Option<(u64, bool)>,
}

impl<'a> RowVisitor<'a> for Encode<'_, '_> {
    type Output = usize;

    fn visit<V: View>(self, row: &'a V) -> usize {
        let index = self.tables.index_of::<V>();
        let mut cells = Vec::with_capacity(V::columns().len());
        row.cells(&mut cells);
        self.tables.encode(index, &cells, self.row, self.out);
        index
    }
}

impl Tables {
    /// The tables of every view.
    pub(crate) fn new() -> Self {
        struct Build(Tables);
        impl ViewVisitor for Build {
            fn visit<V: View>(&mut self) {
                self.0.tables.push(Box::new(ViewTable::<V> {
                    table: Table::new(V::NAME, V::columns()),
                    row: PhantomData,
                }));
                self.0.types.push(TypeId::of::<V>());
            }
        }
        let mut build = Build(Tables {
            tables: Vec::new(),
            types: Vec::new(),
        });
        visit_views(&mut build);
        let mut tables = build.0;
        tables
            .tables
            .push(Box::new(AsOfTable(Table::new(AS_OF_VIEW, AS_OF_COLUMNS))));
        tables
    }

    /// How many tables there are.
    pub(crate) fn count(&self) -> usize {
        self.tables.len()
    }

    /// Every table, in registry order (`open_cases` after `open_case_sla`), then `as_of`.
    pub(crate) fn all(&self) -> Vec<&dyn AnyTable> {
        self.tables.iter().map(|t| t.as_ref()).collect()
    }

    fn index_of<V: View>(&self) -> usize {
        let id = TypeId::of::<V>();
        self.types
            .iter()
            .position(|t| *t == id)
            .expect("every view has a table")
    }

    fn encode(
        &self,
        index: usize,
        cells: &[Cell<'_>],
        row: Option<(u64, bool)>,
        out: &mut Vec<u8>,
    ) {
        let table = self.tables[index].table();
        match row {
            None => table.encode_key(cells, out),
            Some((version, deleted)) => table.encode_row(cells, version, deleted, out),
        }
    }

    fn encode_any(&self, row: &ViewRow, version: Option<(u64, bool)>, out: &mut Vec<u8>) -> usize {
        match row {
            ViewRow::AsOf(t) => {
                let index = self.tables.len() - 1;
                let cells = [Cell::Text("open_case_sla"), Cell::Timestamp(*t)];
                self.encode(index, &cells, version, out);
                index
            }
            ViewRow::Watermark(_) => {
                unreachable!("the sink filters the watermark out: no table stores it")
            }
            _ => row
                .visit(Encode {
                    tables: self,
                    out,
                    row: version,
                })
                .expect("a row of a view"),
        }
    }

    /// The position of `row`'s table in [`Self::all`], and its key appended to `out`.
    pub(crate) fn encode_key(&self, row: &ViewRow, out: &mut Vec<u8>) -> usize {
        self.encode_any(row, None, out)
    }

    /// Appends `row` in RowBinary as a row of its storage table.
    pub(crate) fn encode_row(&self, row: &ViewRow, version: u64, deleted: bool, out: &mut Vec<u8>) {
        self.encode_any(row, Some((version, deleted)), out);
    }
}
