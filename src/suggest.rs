//! "Did you mean": the closest known name or keyword, only when it is really close.
//!
//! A suggestion far from what was typed is noise (cedar suggests something always; we don't):
//! the distance allowed is 1 for short names, 2 from five characters, 3 from ten.
//!
//! The cost stays linear in the input: names longer than [`LONGEST`] get no suggestion, and a
//! candidate whose length differs by more than the allowed distance is not measured (the
//! distance is at least the difference), so each measurement is on two short names.

/// The longest name a suggestion is looked for: nobody mistypes a longer one by a letter.
const LONGEST: usize = 64;

/// The candidate nearest to `typed` within the allowed edit distance, if any.
pub(crate) fn did_you_mean<'a>(
    typed: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    if typed.len() > LONGEST * 4 {
        return None; // at most 4 bytes a character: more than LONGEST, without counting
    }
    let length = typed.chars().count();
    if length > LONGEST {
        return None;
    }
    let allowed = match length {
        0..=4 => 1,
        5..=9 => 2,
        _ => 3,
    };
    candidates
        .filter(|c| *c != typed)
        .filter(|c| {
            // A byte length outside the window rules it out before counting characters.
            c.len() <= (length + allowed) * 4 && c.chars().count().abs_diff(length) <= allowed
        })
        .map(|c| (distance(typed, c), c))
        .filter(|&(d, _)| d <= allowed)
        .min_by_key(|&(d, c)| (d, c.to_owned()))
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters, with one row of memory.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let cost = diagonal + usize::from(ca != *cb);
            let next = cost.min(up.saturating_add(1)).min(left + 1);
            diagonal = up;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = next;
            }
            left = next;
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn suggests_only_close_names() {
        let roles = ["support_lead", "ops_lead"];
        assert_eq!(
            did_you_mean("suport_lead", roles.into_iter()),
            Some("support_lead")
        );
        assert_eq!(did_you_mean("finance", roles.into_iter()), None);
    }

    #[test]
    fn long_names_get_no_suggestion() {
        let long = "a".repeat(65);
        let near = format!("{long}b");
        assert_eq!(did_you_mean(&long, [near.as_str()].into_iter()), None);
        let fits = "a".repeat(64);
        let near = format!("{fits}b");
        assert_eq!(
            did_you_mean(&fits, [near.as_str()].into_iter()),
            Some(near.as_str())
        );
    }
}
