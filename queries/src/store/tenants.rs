//! The set of tenants a read may see: every tenant, or a fixed set. Tables keep each tenant's
//! rows apart, so a scan for some tenants never examines another tenant's rows.

use std::collections::BTreeSet;

/// The tenants a scan may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tenants {
    /// Every tenant, and the rows of views without a tenant.
    All,
    /// Only these tenants (never the rows of views without a tenant).
    Only(BTreeSet<String>),
}

impl Tenants {
    /// No tenant at all: a scan sees nothing.
    pub fn none() -> Tenants {
        Tenants::Only(BTreeSet::new())
    }

    /// Exactly the tenants named.
    pub fn only<I, S>(tenants: I) -> Tenants
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Tenants::Only(tenants.into_iter().map(Into::into).collect())
    }

    /// Whether rows of `tenant` may be seen.
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            Tenants::All => true,
            Tenants::Only(set) => set.contains(tenant),
        }
    }

    /// Whether the whole store may be seen, tenant-less views included.
    pub fn is_all(&self) -> bool {
        matches!(self, Tenants::All)
    }

    /// These tenants narrowed to `tenant_id` when a request filters on it: a tenant outside
    /// the set gives [`Tenants::none`], exactly as a tenant that has no rows.
    pub fn narrow(&self, tenant_id: Option<&str>) -> Tenants {
        match tenant_id {
            None => self.clone(),
            Some(t) if self.allows(t) => Tenants::only([t]),
            Some(_) => Tenants::none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_never_widens() {
        let some = Tenants::only(["a", "b"]);
        assert!(some.allows("a") && !some.allows("c") && !some.allows(""));
        assert_eq!(some.narrow(None), some);
        assert_eq!(some.narrow(Some("a")), Tenants::only(["a"]));
        assert_eq!(some.narrow(Some("c")), Tenants::none());
        assert_eq!(Tenants::All.narrow(Some("c")), Tenants::only(["c"]));
        assert!(Tenants::All.allows("") && Tenants::All.is_all());
        assert!(!Tenants::none().allows("a"));
    }
}
