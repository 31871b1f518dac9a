//! The demo company's staff, built from `assets/demo/people.txt`.

use super::assets;

/// The demo tenant's mail domain.
pub const DOMAIN: &str = "demo.test";

/// One member of staff, and so one mailbox.
#[derive(Clone, Debug)]
pub struct Person {
    pub first: String,
    pub last: String,
    pub dept: String,
    pub title: String,
    pub address: String,
}

impl Person {
    /// "First Last" as mail clients show it.
    pub fn display(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

/// Everyone, in file order.
pub struct Roster {
    pub people: Vec<Person>,
    pub departments: Vec<(String, String)>,
}

impl Roster {
    pub fn load() -> Roster {
        let people = assets::records(assets::PEOPLE, 4)
            .into_iter()
            .map(|r| Person {
                dept: r[0].to_string(),
                first: r[1].to_string(),
                last: r[2].to_string(),
                title: r[3].to_string(),
                address: format!("{}.{}@{DOMAIN}", ascii_local(r[1]), ascii_local(r[2])),
            })
            .collect();
        let departments = assets::records(assets::DEPARTMENTS, 2)
            .into_iter()
            .map(|r| (r[0].to_string(), r[1].to_string()))
            .collect();
        Roster {
            people,
            departments,
        }
    }

    /// Indices of the people in a department (`"any"`: everyone).
    pub fn in_dept(&self, dept: &str) -> Vec<usize> {
        (0..self.people.len())
            .filter(|&i| dept == "any" || self.people[i].dept == dept)
            .collect()
    }
}

/// A name as an address local part: lower-case ASCII letters only, with the usual German and
/// Romance transliterations, because most mail systems still refuse non-ASCII local parts.
pub fn ascii_local(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'ä' | 'æ' => out.push_str("ae"),
            'ö' | 'ø' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'à' | 'á' | 'â' | 'ã' | 'å' => out.push('a'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ò' | 'ó' | 'ô' | 'õ' => out.push('o'),
            'ù' | 'ú' | 'û' => out.push('u'),
            'ç' => out.push('c'),
            'ñ' => out.push('n'),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_ascii_and_unique() {
        let roster = Roster::load();
        assert!(roster.people.len() >= 30);
        let mut seen = std::collections::HashSet::new();
        for p in &roster.people {
            assert!(p.address.is_ascii(), "{}", p.address);
            assert!(seen.insert(p.address.clone()), "duplicate {}", p.address);
            assert!(
                roster.departments.iter().any(|(k, _)| *k == p.dept),
                "{} has unknown department {}",
                p.address,
                p.dept
            );
        }
        for expected in [
            "juergen.weiss@demo.test",
            "liam.obrien@demo.test",
            "renee.dubois@demo.test",
        ] {
            assert!(
                roster.people.iter().any(|p| p.address == expected),
                "{expected}"
            );
        }
        assert_eq!(ascii_local("Renée"), "renee");
    }
}
