//! The view registry: every view of `VIEWS.md` (and the open-case listing behind
//! `open_case_sla`) declared once, as its row type's [`View`] implementation: its name, its
//! typed columns (key, value, derived and hidden ones, in the order of the files and tables),
//! how a row becomes cells and how cells become a row again, its key in the serving store, its
//! tenant and how retention expires it.
//!
//! Every output is generated from it: the Parquet files and their decoding, the ClickHouse
//! tables and their RowBinary, the serving store's tables, the API's JSON and its OpenAPI
//! schemas. The list of views itself is [`for_each_view!`], from which [`ViewSet`] and
//! [`ViewRow`] are generated; a crate that needs one item per view (a struct field, a match
//! arm) invokes it with its own macro, and generic code walks the views with
//! [`visit_views`] or a row's view with [`ViewRow::visit`].
//!
//! Adding a view touches: its row type (`views.rs`), its [`View`] implementation (a file
//! here), one line of [`for_each_view!`]; its dataflow (a `dataflows/` module and the
//! `build_views` concat) and its oracle (an `oracle/` module and `compute`): 7 files.
//! Parquet files and history, ClickHouse tables, the serving store, the live snapshots, the
//! API's JSON, OpenAPI and retention follow from the entry; `/v1/views/{view}` serves it unfiltered unless `api/views.rs`
//! gives it filters.

mod activity;
mod cases;
mod columns;
mod notifications;
mod notifications_v2;
mod operations;
mod orders;
mod selection;

use std::borrow::Cow;
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::retention::Retention;
use crate::time::{Granularity, Micros};
use crate::views::{ViewRow, ViewSet};

pub use columns::{Cell, CellError, Column, ColumnType, Record, Role, Value};
pub use operations::{rejected_column, summary_tenant};
pub use selection::{UnknownView, ViewSelection};

/// Calls `$callback!` with every view, in registry order (the order of `VIEWS.md`, with
/// `open_cases` after `open_case_sla` and the views added in v2 after `pipeline_health`), as `RowType field Variant;` items: the row type, its
/// [`ViewSet`] field (and file, table and store name) and its [`ViewRow`] variant.
#[macro_export]
macro_rules! for_each_view {
    ($callback:ident) => {
        $callback! {
            NotificationRates notification_rates NotificationRates;
            NotificationBounces notification_bounces NotificationBounces;
            NotificationLatency notification_latency NotificationLatency;
            NotificationFailures notification_failures NotificationFailures;
            NotificationVariants notification_variants NotificationVariants;
            OrderMetrics order_metrics OrderMetrics;
            OrderCancellations order_cancellations OrderCancellations;
            InventoryLevels inventory_levels InventoryLevels;
            CaseBacklog case_backlog CaseBacklog;
            SlaCompliance sla_compliance SlaCompliance;
            OpenCaseSla open_case_sla OpenCaseSla;
            OpenCase open_cases OpenCase;
            TimelineEntry timelines Timeline;
            TopicHealth pipeline_health TopicHealth;
            TrackingActivity tracking_activity TrackingActivity;
            TenantActivity tenant_activity TenantActivity;
        }
    };
}

/// When a row leaves the served views under retention (VIEWS.md, "Retention").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// A windowed row: its window's granularity and start.
    Window(Granularity, Micros),
    /// A timeline entry: its event time.
    Timeline(Micros),
}

impl Expiry {
    /// The instant the watermark must reach for the row to expire (`None`: never).
    pub fn due(self, retention: &Retention) -> Option<Micros> {
        match self {
            Expiry::Window(g, start) => retention.window_due(g, start),
            Expiry::Timeline(t) => retention.timeline_due(t),
        }
    }

    /// The time the row's history file is dated by (window start or event time).
    pub fn time(self) -> Micros {
        match self {
            Expiry::Window(_, t) | Expiry::Timeline(t) => t,
        }
    }
}

/// Where a row type sits in [`ViewSet`] and [`ViewRow`] (generated from [`for_each_view!`]).
pub trait Member: Sized {
    /// The view's rows in `set`.
    fn rows(set: &ViewSet) -> &Vec<Self>;
    /// The view's rows in `set`, to fill.
    fn rows_mut(set: &mut ViewSet) -> &mut Vec<Self>;
    /// The row as a [`ViewRow`].
    fn into_row(self) -> ViewRow;
}

/// A view: one row type and everything every output needs to know about it.
pub trait View: Member + Clone + Ord + Debug + Send + Sync + 'static {
    /// The view's name: its file, table, store table and route name.
    const NAME: &'static str;
    /// Whether `/v1/views/{NAME}` serves it (and it is in [`crate::views::VIEW_NAMES`]).
    const SERVED: bool = true;
    /// Whether its rows expire under retention ([`View::expiry`] is `Some`); such views have
    /// a history (`history/<view>/`).
    const EXPIRES: bool = false;
    /// One line describing a row, for the API's documentation.
    const DESCRIPTION: &'static str;
    /// The key of a row in the serving store (its order is the API's page order).
    type ServeKey: Ord + Clone + Debug + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// The columns, in the order of the Parquet file and the ClickHouse table.
    fn columns() -> &'static [Column];
    /// Appends the row's cells to `out`, one per column of [`View::columns`], in order (a
    /// [`ColumnType::Rate`] column is always [`Role::Derived`]: no sink reads it back).
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>);
    /// The row whose key, value and hidden cells `record` holds (derived ones are ignored).
    fn from_record(record: &mut Record<'_>) -> Result<Self, CellError>;
    /// The row's key in the serving store.
    fn serve_key(&self) -> Self::ServeKey;
    /// The tenant the row belongs to; `""` for the views without one.
    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    /// When the row expires under retention (`None`: it stays while it is current).
    fn expiry(&self) -> Option<Expiry> {
        None
    }
    /// The names of the API's JSON fields, in order, when they are not the served columns in
    /// file order.
    fn api_order() -> Option<&'static [&'static str]> {
        None
    }
}

/// Something done once per view type (see [`visit_views`]).
pub trait ViewVisitor {
    /// Called with each view type in registry order.
    fn visit<V: View>(&mut self);
}

/// Calls `visitor` with every view type, in registry order.
pub fn visit_views(visitor: &mut impl ViewVisitor) {
    macro_rules! visit_all {
        ($($ty:ident $field:ident $variant:ident;)*) => {
            $(visitor.visit::<crate::views::$ty>();)*
        };
    }
    for_each_view!(visit_all);
}

/// Something done with one row of any view (see [`ViewRow::visit`]).
pub trait RowVisitor<'a> {
    /// What the visit gives.
    type Output;
    /// Called with the row, typed.
    fn visit<V: View>(self, row: &'a V) -> Self::Output;
}

/// The names of every view, in registry order (files, tables, store tables).
pub fn view_names() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl ViewVisitor for Names {
        fn visit<V: View>(&mut self) {
            self.0.push(V::NAME);
        }
    }
    let mut names = Names(Vec::new());
    visit_views(&mut names);
    names.0
}

/// The `(name, served)` of every view, in registry order (a constant, for `VIEW_NAMES`).
pub(crate) const REGISTRY: &[(&str, bool)] = {
    macro_rules! registry {
        ($($ty:ident $field:ident $variant:ident;)*) => {
            &[$((<crate::views::$ty as View>::NAME, <crate::views::$ty as View>::SERVED)),*]
        };
    }
    for_each_view!(registry)
};

/// How many views the registry has.
pub const VIEW_COUNT: usize = REGISTRY.len();

/// How many views are served.
pub(crate) const fn served_count() -> usize {
    let (mut i, mut n) = (0, 0);
    while i < REGISTRY.len() {
        if REGISTRY[i].1 {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The names of the served views, in registry order.
pub(crate) const fn served_names<const N: usize>() -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut n) = (0, 0);
    while i < REGISTRY.len() {
        if REGISTRY[i].1 {
            out[n] = REGISTRY[i].0;
            n += 1;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests;
