//! One view's rows: an ordered map per tenant, scanned in key order across the tenants a
//! reader may see. A scan never examines (so never counts, pages on, or returns a cursor into)
//! the rows of a tenant it may not see.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::Arc;

use super::expiry::ExpiryQueue;
use super::keys::Keyed;
use super::tenants::Tenants;

/// The most rows one page scan examines (matching or not) before it returns.
pub const SCAN_BUDGET: usize = 100_000;

/// One page of a [`Table`] scan.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<K, R> {
    /// The rows of the page, in key order.
    pub rows: Vec<R>,
    /// The key of the last row when more matching rows follow (resume after it).
    pub next: Option<K>,
}

/// The rows of one view, kept per tenant (`""` for views without one), each tenant's ordered
/// by key.
#[derive(Clone, Debug)]
pub struct Table<R: Keyed> {
    tenants: BTreeMap<Arc<str>, BTreeMap<R::Key, R>>,
    len: usize,
    /// The rows that expire (retention), with their due instants: a row leaves the table
    /// once the watermark reaches its due instant. An entry whose row has gone meanwhile is
    /// skipped. Its tenant is the one the row was inserted under (shared: a table may hold a
    /// million expiring rows of a few tenants). The same row may be filed twice (removed, then
    /// inserted again before its due): the second entry finds it gone.
    expiring: ExpiryQueue<(Arc<str>, R::Key)>,
}

impl<R: Keyed> Default for Table<R> {
    fn default() -> Self {
        Table {
            tenants: BTreeMap::new(),
            len: 0,
            expiring: ExpiryQueue::default(),
        }
    }
}

impl<R: Keyed> Table<R> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every row in key order.
    pub fn rows(&self) -> impl Iterator<Item = &R> {
        Merge::new(self.tenants.values().map(|rows| rows.iter())).map(|(_, row)| row)
    }

    /// Scans the rows of `tenants` in key order from `start`, stopping at the first key for
    /// which `within` is false, keeping the rows that pass `filter`, at most `limit` of them,
    /// and examining at most [`SCAN_BUDGET`] rows (so a reader never holds the lock for long).
    /// The page's `next` is set when matching rows may follow the page.
    pub fn page(
        &self,
        tenants: &Tenants,
        start: Bound<&R::Key>,
        within: impl Fn(&R::Key) -> bool,
        filter: impl Fn(&R) -> bool,
        limit: usize,
    ) -> Page<R::Key, R> {
        self.page_within_budget(tenants, start, within, filter, limit, SCAN_BUDGET)
    }

    /// [`Table::page`] examining at most `budget` rows: when the budget runs out first, the
    /// page may hold fewer than `limit` rows and `next` is the last key examined (always a
    /// key of one of `tenants`).
    pub fn page_within_budget(
        &self,
        tenants: &Tenants,
        start: Bound<&R::Key>,
        within: impl Fn(&R::Key) -> bool,
        filter: impl Fn(&R) -> bool,
        limit: usize,
        budget: usize,
    ) -> Page<R::Key, R> {
        let within = &within;
        let scans = self.visible(tenants).map(|rows| {
            rows.range::<R::Key, _>((start, Bound::Unbounded))
                .take_while(move |(k, _)| within(k))
        });
        let mut rows = Vec::new();
        let mut last_returned: Option<&R::Key> = None;
        let mut last_examined: Option<&R::Key> = None;
        for (examined, (key, row)) in Merge::new(scans).enumerate() {
            if examined == budget.max(1) {
                // Out of budget: resume after the last row examined.
                return Page {
                    rows,
                    next: last_examined.cloned(),
                };
            }
            last_examined = Some(key);
            if !filter(row) {
                continue;
            }
            if rows.len() == limit {
                return Page {
                    rows,
                    next: last_returned.cloned(),
                };
            }
            rows.push(row.clone());
            last_returned = Some(key);
        }
        Page { rows, next: None }
    }

    /// The row maps of the tenants a reader may see.
    fn visible<'t>(
        &'t self,
        tenants: &'t Tenants,
    ) -> Box<dyn Iterator<Item = &'t BTreeMap<R::Key, R>> + 't> {
        match tenants {
            Tenants::All => Box::new(self.tenants.values()),
            Tenants::Only(set) => Box::new(set.iter().filter_map(|t| self.tenants.get(t.as_str()))),
        }
    }

    /// Removes `row` (kept under `tenant`) if it is the current row of its key.
    pub(crate) fn remove(&mut self, tenant: &str, row: &R) {
        let Some(rows) = self.tenants.get_mut(tenant) else {
            return;
        };
        // One descent: the key's entry, removed if it holds `row`.
        if let Entry::Occupied(current) = rows.entry(row.key()) {
            if current.get() == row {
                current.remove();
                self.len -= 1;
                if rows.is_empty() {
                    self.tenants.remove(tenant);
                }
            }
        }
    }

    /// Inserts `row` under `tenant`, replacing the row of the same key, which it returns.
    /// When `due_of` gives it a due instant, the row expires once the watermark reaches it
    /// ([`Table::expire`]); a row that replaces one of the same due (a window's new totals) is
    /// filed already.
    pub(crate) fn insert(
        &mut self,
        tenant: Arc<str>,
        row: R,
        due_of: impl Fn(&R) -> Option<i64>,
    ) -> Option<R> {
        let due = due_of(&row);
        let rows = self.tenants.entry(Arc::clone(&tenant)).or_default();
        // The key is cloned for the expiry heap only when the row is filed there: a row that
        // replaces one of the same due (a window's new totals, every epoch) is not.
        let (replaced, filed) = match rows.entry(row.key()) {
            Entry::Occupied(mut current) => {
                let replaced = current.insert(row);
                let filed = due.is_some() && due_of(&replaced) != due;
                (Some(replaced), filed.then(|| current.key().clone()))
            }
            Entry::Vacant(slot) => {
                let key = due.map(|_| slot.key().clone());
                slot.insert(row);
                self.len += 1;
                (None, key)
            }
        };
        if let (Some(due), Some(key)) = (due, filed) {
            self.expiring.push(due, (tenant, key));
        }
        replaced
    }

    /// Removes and returns the rows whose due instant is at or before `watermark`.
    pub(crate) fn expire(&mut self, watermark: i64) -> Vec<R> {
        let mut expired = Vec::new();
        let (tenants, len) = (&mut self.tenants, &mut self.len);
        self.expiring.expire(watermark, |(tenant, key)| {
            let Some(rows) = tenants.get_mut(&*tenant) else {
                return;
            };
            if let Some(row) = rows.remove(&key) {
                *len -= 1;
                expired.push(row);
            }
            if rows.is_empty() {
                tenants.remove(&*tenant);
            }
        });
        expired
    }
}

/// Merges iterators that are each in key order into one in key order (ties: the earlier
/// iterator first). Picks the least head by a linear pass: there are few tenants per scan.
struct Merge<I: Iterator> {
    heads: Vec<Peekable<I>>,
}

impl<I: Iterator> Merge<I> {
    fn new(iters: impl Iterator<Item = I>) -> Self {
        Merge {
            heads: iters.map(Iterator::peekable).collect(),
        }
    }
}

impl<'a, K: Ord + 'a, R: 'a, I> Iterator for Merge<I>
where
    I: Iterator<Item = (&'a K, &'a R)>,
{
    type Item = (&'a K, &'a R);

    fn next(&mut self) -> Option<Self::Item> {
        let mut least: Option<(usize, &'a K)> = None;
        for (i, head) in self.heads.iter_mut().enumerate() {
            if let Some(&(key, _)) = head.peek() {
                if least.is_none_or(|(_, l)| key < l) {
                    least = Some((i, key));
                }
            }
        }
        let (i, _) = least?;
        self.heads[i].next()
    }
}
