//! Which views a batch pass computes and writes: every view (the default), or the ones a data
//! engineer names (`pulso replay --views notification_rates,order_metrics`), so that a
//! backfill of one view does not pay for the others.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::REGISTRY;

/// A name that is not a view of the registry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown view {name:?}; the views are: {}", view_list())]
pub struct UnknownView {
    /// The name given.
    pub name: String,
}

fn view_list() -> String {
    REGISTRY
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A set of views by name: all of them, or some.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewSelection {
    /// `None`: every view.
    some: Option<BTreeSet<&'static str>>,
}

impl ViewSelection {
    /// Every view.
    pub fn all() -> Self {
        ViewSelection::default()
    }

    /// The views named (each a registry name; repeats count once). An empty list selects
    /// every view.
    pub fn of<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Result<Self, UnknownView> {
        let mut some = BTreeSet::new();
        for name in names {
            let name = name.as_ref().trim();
            let known = REGISTRY
                .iter()
                .find(|(known, _)| *known == name)
                .ok_or_else(|| UnknownView {
                    name: name.to_string(),
                })?;
            some.insert(known.0);
        }
        Ok(ViewSelection {
            some: (!some.is_empty()).then_some(some),
        })
    }

    /// Whether every view is selected.
    pub fn is_all(&self) -> bool {
        self.some.is_none()
    }

    /// Whether the view named `name` is selected.
    pub fn contains(&self, name: &str) -> bool {
        self.some.as_ref().is_none_or(|some| some.contains(name))
    }

    /// Whether any of the views named is selected.
    pub fn any(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.contains(name))
    }
}

/// Comma-separated view names, e.g. `notification_rates,order_metrics`; `all` (what
/// [`ViewSelection::all`] displays as) or nothing for every view.
impl FromStr for ViewSelection {
    type Err = UnknownView;

    fn from_str(names: &str) -> Result<Self, UnknownView> {
        if names.trim() == "all" {
            return Ok(ViewSelection::all());
        }
        ViewSelection::of(names.split(',').filter(|name| !name.trim().is_empty()))
    }
}

/// The names, comma-separated, in name order; `all` for every view.
impl fmt::Display for ViewSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.some {
            None => f.write_str("all"),
            Some(some) => f.write_str(&some.iter().copied().collect::<Vec<_>>().join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_select_their_views_only() {
        let selection: ViewSelection = "order_metrics, notification_rates,order_metrics"
            .parse()
            .unwrap();
        assert!(!selection.is_all());
        assert!(selection.contains("order_metrics"));
        assert!(selection.contains("notification_rates"));
        assert!(!selection.contains("timelines"));
        assert!(selection.any(&["timelines", "order_metrics"]));
        assert!(!selection.any(&["timelines", "open_cases"]));
        assert_eq!(selection.to_string(), "notification_rates,order_metrics");
    }

    #[test]
    fn no_names_select_every_view() {
        for selection in [
            ViewSelection::all(),
            "".parse().unwrap(),
            "all".parse().unwrap(),
        ] {
            assert!(selection.is_all());
            assert!(REGISTRY.iter().all(|(name, _)| selection.contains(name)));
            assert_eq!(selection.to_string(), "all");
        }
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_list_of_views() {
        let error = "order_metrics,orders".parse::<ViewSelection>().unwrap_err();
        assert_eq!(error.name, "orders");
        assert!(error.to_string().contains("notification_rates"));
    }
}
