//! View changes as the sinks consume them: every row of a [`ViewSet`] as a [`ViewRow`], and
//! the `(row, diff)` changes that turn one set into another.

use std::collections::HashMap;

use pulso_events::views::{ViewRow, ViewSet};

/// Every row of `views` (and its `as_of`, when set) as a [`ViewRow`], view by view.
pub fn view_rows(views: &ViewSet) -> impl Iterator<Item = ViewRow> + '_ {
    views.rows()
}

/// The consolidated changes from `old` to `new`: `-1` for every row only in `old`, `+1` for
/// every row only in `new` (a changed row is both), sorted by row.
pub fn diff_views(old: &ViewSet, new: &ViewSet) -> Vec<(ViewRow, isize)> {
    let mut diffs: HashMap<ViewRow, isize> = HashMap::new();
    for row in view_rows(old) {
        *diffs.entry(row).or_default() -= 1;
    }
    for row in view_rows(new) {
        *diffs.entry(row).or_default() += 1;
    }
    let mut out: Vec<(ViewRow, isize)> = diffs.into_iter().filter(|(_, d)| *d != 0).collect();
    out.sort();
    out
}
