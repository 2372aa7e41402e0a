//! Interned names: texts that repeat (tenant, provider, sku, reasons) held once as a shared
//! `Arc<str>`, so that whatever holds many of them holds a pointer each, not a fresh heap
//! string. The dataflows intern per worker; the serving store interns each epoch's tenants.
//!
//! A [`Name`] compares, hashes and serializes as its text, so it means the same in every
//! worker and every process of a cluster (a name that crosses processes is re-shared by the
//! receiver's own copy of the text); no id table has to be agreed between processes.

use hashbrown::HashSet;
use std::sync::Arc;

/// An interned name: its text, shared.
pub type Name = Arc<str>;

/// A set of names. Each distinct text is allocated once.
#[derive(Debug, Default)]
pub struct Interner {
    names: HashSet<Name>,
}

impl Interner {
    /// The shared name for `text`, allocated on first sight.
    pub fn name(&mut self, text: &str) -> Name {
        if let Some(name) = self.names.get(text) {
            return Arc::clone(name);
        }
        let name: Name = Arc::from(text);
        self.names.insert(Arc::clone(&name));
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_one_allocation() {
        let mut interner = Interner::default();
        let a = interner.name("SendGrid");
        let b = interner.name("SendGrid");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*interner.name("SES"), "SES");
    }
}
