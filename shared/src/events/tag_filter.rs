//! A subscription's tag filter: which events, by their tags, the subscription receives.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::json_fields::{kind, string};
use crate::common::validation::FieldErrors;
use crate::messaging::message::Tag;

/// The tags an event must carry for a subscription to receive it (the reference's rule):
///
/// - the event must carry **every** listed tag;
/// - an entry ending in `*` is satisfied by any event tag that starts with what precedes the
///   `*`: `test-*` by `test-tag`, `test-event`, and `test-` itself;
/// - an empty filter lets every event through, tagged or not.
///
/// One event tag may satisfy several entries (`test-*` and `test-tag` are both satisfied by
/// `test-tag`). Matching is case-sensitive, as tags are.
///
/// Each entry is a [`Tag`], or a non-empty start of one followed by a single `*`. A lone `*` is
/// refused: it could only mean "any tag at all", which is rarely what was meant and reads like
/// "everything", which is the empty filter's job. Since a tag can never contain `*`, an entry is
/// never ambiguous. At most [`TagFilter::MAX_ENTRIES`] entries; repeats are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct TagFilter(Vec<Entry>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Exact(String),
    Prefix(String),
}

impl Entry {
    fn matches(&self, tag: &Tag) -> bool {
        match self {
            Self::Exact(t) => tag.as_str() == t,
            Self::Prefix(p) => tag.as_str().starts_with(p.as_str()),
        }
    }
}

impl TagFilter {
    /// As many entries as an event can carry tags: with more, an all-exact filter could never
    /// match.
    pub const MAX_ENTRIES: usize = Tag::MAX_PER_ITEM;

    /// The filter that lets every event through.
    pub fn any() -> Self {
        Self::default()
    }

    /// Checks every entry; errors name the API field `tagFilter` or the entry (`tagFilter[2]`).
    pub fn parse(entries: Vec<String>) -> Result<Self, FieldErrors> {
        Self::check(entries.into_iter().map(Ok))
    }

    /// Reads the API's `tagFilter` field: an array of entries, each checked and named by its
    /// place in the array (`tagFilter[2]`), whatever the items before it were.
    pub fn read(value: Value) -> Result<Self, FieldErrors> {
        let Value::Array(items) = value else {
            let mut errors = FieldErrors::new();
            errors.push(
                "tagFilter",
                format!("must be an array of tags, not {}", kind(&value)),
            );
            return Err(errors);
        };
        Self::check(items.into_iter().map(string))
    }

    /// Checks each item in order: an `Err` item is one already found not to be a string.
    fn check(
        items: impl ExactSizeIterator<Item = Result<String, String>>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if items.len() > Self::MAX_ENTRIES {
            errors.push(
                "tagFilter",
                format!("must hold at most {} tags", Self::MAX_ENTRIES),
            );
        }
        let mut parsed: Vec<Entry> = Vec::with_capacity(items.len());
        for (i, item) in items.enumerate() {
            match item.and_then(|s| Self::entry(&s)) {
                Ok(entry) if parsed.contains(&entry) => {}
                Ok(entry) => parsed.push(entry),
                Err(why) => errors.push(format!("tagFilter[{i}]"), why),
            }
        }
        errors.into_result(Self(parsed))
    }

    fn entry(s: &str) -> Result<Entry, String> {
        match s.strip_suffix('*') {
            Some("") => Err(
                "a lone * is not a filter; leave the tag filter empty to receive every event"
                    .into(),
            ),
            Some(prefix) => {
                if prefix.contains('*') {
                    return Err("may hold only one *, at the end".into());
                }
                // A prefix is valid when it is itself a valid tag: same charset and length.
                Tag::parse(prefix)
                    .map(|_| Entry::Prefix(prefix.to_owned()))
                    .map_err(|e| format!("{e}, optionally followed by one *"))
            }
            None if s.contains('*') => Err("may hold only one *, at the end".into()),
            None => Tag::parse(s)
                .map(|_| Entry::Exact(s.to_owned()))
                .map_err(|e| format!("{e}, optionally followed by one *")),
        }
    }

    /// Whether an event tagged `event_tags` passes: every entry is satisfied by some tag.
    pub fn matches(&self, event_tags: &[Tag]) -> bool {
        self.0
            .iter()
            .all(|entry| event_tags.iter().any(|tag| entry.matches(tag)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries as written (`test-*`), for the API and storage.
    pub fn entries(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|e| match e {
                Entry::Exact(t) => t.clone(),
                Entry::Prefix(p) => format!("{p}*"),
            })
            .collect()
    }
}

impl TryFrom<Vec<String>> for TagFilter {
    type Error = FieldErrors;
    fn try_from(entries: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(entries)
    }
}

impl From<TagFilter> for Vec<String> {
    fn from(f: TagFilter) -> Vec<String> {
        f.entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(entries: &[&str]) -> TagFilter {
        TagFilter::parse(entries.iter().map(|s| (*s).to_owned()).collect()).expect("valid filter")
    }

    fn tags(tags: &[&str]) -> Vec<Tag> {
        tags.iter()
            .map(|t| Tag::parse(t).expect("valid tag"))
            .collect()
    }

    #[test]
    fn empty_filter_matches_everything() {
        let any = TagFilter::any();
        assert!(any.is_empty());
        assert!(any.matches(&[]));
        assert!(any.matches(&tags(&["mock", "x"])));
        assert_eq!(filter(&[]), any);
    }

    #[test]
    fn every_listed_tag_must_be_carried() {
        let f = filter(&["mock", "eu"]);
        assert!(f.matches(&tags(&["mock", "eu"])));
        assert!(f.matches(&tags(&["eu", "other", "mock"])));
        assert!(!f.matches(&tags(&["mock"])));
        assert!(!f.matches(&tags(&["eu"])));
        assert!(!f.matches(&[]));
    }

    #[test]
    fn trailing_star_matches_by_prefix() {
        // The reference's example.
        let f = filter(&["test-*"]);
        assert!(f.matches(&tags(&["test-tag"])));
        assert!(f.matches(&tags(&["test-event"])));
        assert!(f.matches(&tags(&["other", "test-event"])));
        assert!(
            f.matches(&tags(&["test-"])),
            "the prefix itself starts with the prefix"
        );
        assert!(!f.matches(&tags(&["test"])));
        assert!(!f.matches(&tags(&["a-test-tag"])));
        assert!(!f.matches(&tags(&["Test-tag"])), "case-sensitive");
        assert!(!f.matches(&[]));
    }

    #[test]
    fn exact_entries_match_exactly() {
        let f = filter(&["test"]);
        assert!(f.matches(&tags(&["test"])));
        assert!(!f.matches(&tags(&["test-tag"])));
        assert!(!f.matches(&tags(&["TEST"])));
    }

    #[test]
    fn one_tag_may_satisfy_several_entries() {
        let f = filter(&["test-*", "test-tag", "t*"]);
        assert!(f.matches(&tags(&["test-tag"])));
        let f = filter(&["test-*", "order:*"]);
        assert!(!f.matches(&tags(&["test-tag"])));
        assert!(f.matches(&tags(&["test-tag", "order:123"])));
    }

    #[test]
    fn bad_entries_are_each_reported() {
        let err = TagFilter::parse(vec![
            "ok".into(),
            "*".into(),
            "a*b".into(),
            "**".into(),
            "*a".into(),
            "a b*".into(),
            "".into(),
            "x".repeat(65),
            "ok-*".into(),
        ])
        .expect_err("bad entries");
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tagFilter[1]",
                "tagFilter[2]",
                "tagFilter[3]",
                "tagFilter[4]",
                "tagFilter[5]",
                "tagFilter[6]",
                "tagFilter[7]"
            ]
        );
        assert!(err.to_string().contains("lone *"), "{err}");
    }

    #[test]
    fn read_names_each_item_by_its_place_in_the_array() {
        use serde_json::json;
        let err = TagFilter::read(json!(["ok", 7, "*", null, "a*b"])).expect_err("bad items");
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tagFilter[1]",
                "tagFilter[2]",
                "tagFilter[3]",
                "tagFilter[4]"
            ]
        );
        assert_eq!(
            err.iter().next().map(|e| e.message.as_str()),
            Some("must be a string, not a number")
        );
        // Every item counts towards the limit, strings or not.
        let mut many: Vec<Value> = (0..20).map(|i| json!(format!("t{i}"))).collect();
        many.push(json!(7));
        let err = TagFilter::read(Value::Array(many)).expect_err("21 items");
        assert!(err.has("tagFilter") && err.has("tagFilter[20]"), "{err}");
        let err = TagFilter::read(json!("order-*")).expect_err("not an array");
        assert_eq!(
            err.to_string(),
            "tagFilter: must be an array of tags, not a string"
        );
        assert_eq!(
            TagFilter::read(json!(["a", "b*", "a"]))
                .expect("valid")
                .entries(),
            ["a", "b*"]
        );
    }

    #[test]
    fn prefixes_follow_the_tag_rules() {
        assert!(TagFilter::parse(vec![format!("{}*", "x".repeat(64))]).is_ok());
        assert!(TagFilter::parse(vec![format!("{}*", "x".repeat(65))]).is_err());
        assert!(TagFilter::parse(vec!["order:12*".into(), "a/b*".into()]).is_ok());
    }

    #[test]
    fn at_most_twenty_entries_and_repeats_dropped() {
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert!(TagFilter::parse(twenty.clone()).is_ok());
        let mut many = twenty;
        many.push("t20".into());
        let err = TagFilter::parse(many).expect_err("21 entries");
        assert!(err.has("tagFilter"));
        assert_eq!(filter(&["a", "b*", "a", "b*"]).entries(), ["a", "b*"]);
    }

    #[test]
    fn serde_round_trip_checks_on_read() {
        let f = filter(&["mock", "test-*"]);
        let v = serde_json::to_value(&f).expect("serializes");
        assert_eq!(v, serde_json::json!(["mock", "test-*"]));
        assert_eq!(serde_json::from_value::<TagFilter>(v).expect("reads"), f);
        assert!(serde_json::from_value::<TagFilter>(serde_json::json!(["*"])).is_err());
    }
}
