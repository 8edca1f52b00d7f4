//! DynamoDB's capacity rules, applied to items in its JSON wire format (`{"S": "..."}`,
//! `{"N": "12"}`, ...). moto answers a constant `ConsumedCapacity` whatever the item and never
//! counts an index, so the proxy works capacity out itself from the items moto stores.
//!
//! Sizes follow AWS's published rules ("Item sizes and formats" in the DynamoDB developer guide);
//! index writes follow the rules measured on real DynamoDB for each projected index entry before
//! and after a write:
//!
//! | before  | after                        | write units                   |
//! |---------|------------------------------|-------------------------------|
//! | absent  | absent                       | 0                             |
//! | absent  | present                      | `ceil(new)`                   |
//! | present | absent                       | `ceil(old)`                   |
//! | present | present, same key, identical | 0                             |
//! | present | present, same key, differing | `max(ceil(old), ceil(new))`   |
//! | present | present, key moved           | `ceil(old) + ceil(new)`       |
//!
//! An entry is present only when the item has every key attribute of the index (sparse
//! indexes), and it holds the table's keys, the index's keys and what the index projects.

use base64::Engine;
use serde_json::{Map, Value};

/// An item as DynamoDB's JSON protocol carries it: attribute name to typed value.
pub type Item = Map<String, Value>;

/// Units are counted in thousandths, so that an eventually consistent read (half a unit) stays
/// a whole number.
pub const MILLI: u64 = 1000;
/// A write unit covers 1 KB of item.
const WRITE_UNIT_BYTES: u64 = 1024;
/// A read unit covers 4 KB of item.
const READ_UNIT_BYTES: u64 = 4096;

/// The size DynamoDB bills an item at: each attribute's name plus its value.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// The size of one typed value. Lists and maps cost 3 bytes plus 1 per element on top of their
/// elements (and, for maps, the elements' names); sets cost their elements alone.
pub fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let each = |f: fn(&Value) -> u64| inner.as_array().into_iter().flatten().map(f).sum::<u64>();
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, |s| s.len() as u64),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => binary_size(inner),
        "BOOL" | "NULL" => 1,
        "SS" => each(|v| v.as_str().map_or(0, |s| s.len() as u64)),
        "NS" => each(|v| v.as_str().map_or(0, number_size)),
        "BS" => each(binary_size),
        "M" => {
            3 + inner
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, v)| name.len() as u64 + value_size(v) + 1)
                .sum::<u64>()
        }
        "L" => {
            3 + inner
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| value_size(v) + 1)
                .sum::<u64>()
        }
        _ => 0,
    }
}

/// A binary value travels base64-encoded; it is billed at its decoded length.
fn binary_size(value: &Value) -> u64 {
    let encoded = value.as_str().unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_or(encoded.len() as u64 * 3 / 4, |bytes| bytes.len() as u64)
}

/// A number's size: DynamoDB stores its significant digits in pairs aligned on the decimal point
/// (about one byte per two digits), plus one byte, plus one more when it is negative. Zero is
/// one byte.
pub fn number_size(literal: &str) -> u64 {
    let literal = literal.trim();
    let (negative, unsigned) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal.strip_prefix('+').unwrap_or(literal)),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = whole.bytes().chain(fraction.bytes()).collect();
    if digits.iter().any(|d| !d.is_ascii_digit()) {
        return literal.len() as u64;
    }
    // The power of ten just above the first digit.
    let mut point = whole.len() as i64 + exponent;
    let leading = digits.iter().take_while(|d| **d == b'0').count();
    point -= leading as i64;
    let significant = &digits[leading..];
    let trailing = significant.iter().rev().take_while(|d| **d == b'0').count();
    let significant = &significant[..significant.len() - trailing];
    if significant.is_empty() {
        return 1;
    }
    let first_power = point - 1;
    let last_power = point - significant.len() as i64;
    let pairs = first_power.div_euclid(2) - last_power.div_euclid(2) + 1;
    pairs as u64 + 1 + u64::from(negative)
}

/// Write units for `size` bytes: one per started KB, at least one.
pub fn write_units(size: u64) -> u64 {
    size.div_ceil(WRITE_UNIT_BYTES).max(1)
}

/// Read units, in thousandths, for `size` bytes read: one per started 4 KB (at least one),
/// halved when the read is eventually consistent.
pub fn read_milli(size: u64, consistent: bool) -> u64 {
    size.div_ceil(READ_UNIT_BYTES).max(1) * if consistent { MILLI } else { MILLI / 2 }
}

/// What an index copies from the table's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

/// A secondary index: its key attributes and what it projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub key: Vec<String>,
    pub projection: Projection,
}

/// A table's key attributes and secondary indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub key: Vec<String>,
    pub indexes: Vec<Index>,
}

fn key_names(schema: &Value) -> Vec<String> {
    schema
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["AttributeName"].as_str().map(str::to_owned))
        .collect()
}

impl Schema {
    /// From DescribeTable's `Table`: its key schema and its global and local secondary indexes.
    pub fn from_description(table: &Value) -> Self {
        let indexes = ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"]
            .iter()
            .flat_map(|kind| table[*kind].as_array().into_iter().flatten())
            .map(|index| {
                let projection = &index["Projection"];
                Index {
                    name: index["IndexName"].as_str().unwrap_or_default().to_owned(),
                    key: key_names(&index["KeySchema"]),
                    projection: match projection["ProjectionType"].as_str() {
                        Some("KEYS_ONLY") => Projection::KeysOnly,
                        Some("INCLUDE") => Projection::Include(
                            projection["NonKeyAttributes"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|a| a.as_str().map(str::to_owned))
                                .collect(),
                        ),
                        _ => Projection::All,
                    },
                }
            })
            .collect();
        Self {
            key: key_names(&table["KeySchema"]),
            indexes,
        }
    }

    /// The item's primary key.
    pub fn key_of(&self, item: &Item) -> Item {
        self.key
            .iter()
            .filter_map(|k| Some((k.clone(), item.get(k)?.clone())))
            .collect()
    }

    /// The entry `index` holds for `item`: its index key and the projected attributes, or
    /// nothing when the item lacks one of the index's key attributes.
    fn entry(&self, index: &Index, item: &Item) -> Option<(Vec<Value>, Item)> {
        let key = index
            .key
            .iter()
            .map(|k| item.get(k).cloned())
            .collect::<Option<Vec<_>>>()?;
        let projected = match &index.projection {
            Projection::All => item.clone(),
            Projection::KeysOnly | Projection::Include(_) => {
                let extra: &[String] = match &index.projection {
                    Projection::Include(attributes) => attributes,
                    _ => &[],
                };
                item.iter()
                    .filter(|(name, _)| {
                        self.key.contains(name) || index.key.contains(name) || extra.contains(name)
                    })
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect()
            }
        };
        Some((key, projected))
    }

    /// Write units `index` consumes for a write that turns `old` into `new` (either absent).
    pub fn index_units(&self, index: &Index, old: Option<&Item>, new: Option<&Item>) -> u64 {
        let old = old.and_then(|item| self.entry(index, item));
        let new = new.and_then(|item| self.entry(index, item));
        match (old, new) {
            (None, None) => 0,
            (None, Some((_, new))) => write_units(item_size(&new)),
            (Some((_, old)), None) => write_units(item_size(&old)),
            // A moved key is a delete at the old position and an insert at the new one, each
            // rounded on its own.
            (Some((old_key, old)), Some((new_key, new))) if old_key != new_key => {
                write_units(item_size(&old)) + write_units(item_size(&new))
            }
            (Some((_, old)), Some((_, new))) if old == new => 0,
            (Some((_, old)), Some((_, new))) => {
                write_units(item_size(&old)).max(write_units(item_size(&new)))
            }
        }
    }

    /// What a write that turns `old` into `new` costs: the table's units (the larger item's,
    /// doubled in a transaction) and each index's units, whole.
    pub fn write_cost(
        &self,
        old: Option<&Item>,
        new: Option<&Item>,
        transactional: bool,
    ) -> WriteCost {
        let size = old.map_or(0, item_size).max(new.map_or(0, item_size));
        WriteCost {
            table: write_units(size) * if transactional { 2 } else { 1 },
            indexes: self
                .indexes
                .iter()
                .map(|index| (index.name.clone(), self.index_units(index, old, new)))
                .filter(|(_, units)| *units > 0)
                .collect(),
        }
    }
}

/// Write units of one write, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteCost {
    pub table: u64,
    pub indexes: Vec<(String, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!({ "S": v })))
            .collect()
    }

    fn pad(n: usize) -> String {
        "x".repeat(n)
    }

    /// A table keyed `pk`/`sk` with one index keyed `gsiPk`, projected as given.
    fn schema(projection: Projection) -> Schema {
        Schema {
            key: vec!["pk".into(), "sk".into()],
            indexes: vec![Index {
                name: "gsi".into(),
                key: vec!["gsiPk".into()],
                projection,
            }],
        }
    }

    fn include() -> Schema {
        schema(Projection::Include(vec!["proj".into()]))
    }

    fn units(schema: &Schema, old: Option<&Item>, new: Option<&Item>) -> u64 {
        schema.index_units(&schema.indexes[0], old, new)
    }

    #[test]
    fn sizes_follow_the_published_rules() {
        // Names count as well as values; strings by their UTF-8 length.
        assert_eq!(item_size(&item(&[("pk", "abc")])), 5);
        assert_eq!(value_size(&json!({"S": "ø"})), 2);
        assert_eq!(value_size(&json!({"BOOL": true})), 1);
        assert_eq!(value_size(&json!({"NULL": true})), 1);
        // Binary at its decoded length.
        assert_eq!(value_size(&json!({"B": "AAECAw=="})), 4);
        // A map: 3 bytes, then per element its name, its value and 1 byte.
        assert_eq!(value_size(&json!({"M": {}})), 3);
        assert_eq!(value_size(&json!({"M": {"a": {"S": "xy"}}})), 3 + 1 + 2 + 1);
        assert_eq!(
            value_size(&json!({"L": [{"S": "xy"}, {"BOOL": false}]})),
            3 + 3 + 2
        );
        // Sets: their elements alone.
        assert_eq!(value_size(&json!({"SS": ["a", "bc"]})), 3);
    }

    #[test]
    fn numbers_cost_about_one_byte_per_two_digits_plus_one() {
        assert_eq!(number_size("0"), 1);
        assert_eq!(number_size("-0.000"), 1);
        assert_eq!(number_size("1"), 2);
        assert_eq!(number_size("12"), 2);
        assert_eq!(number_size("123456"), 4);
        // Zeros at either end are not stored.
        assert_eq!(number_size("1000000"), 2);
        assert_eq!(number_size("0012"), 2);
        // Pairs are aligned on the decimal point.
        assert_eq!(number_size("3.14159"), 5);
        assert_eq!(number_size("-12"), 3);
        assert_eq!(number_size("1E3"), 2);
        // An epoch in milliseconds.
        assert_eq!(number_size("1766012345678"), 8);
    }

    #[test]
    fn table_writes_are_charged_on_the_larger_item_and_doubled_in_transactions() {
        let small = item(&[("pk", "a"), ("sk", "1")]);
        let big = item(&[("pk", "a"), ("sk", "1"), ("x", &pad(1500))]);
        let s = Schema::default();
        assert_eq!(s.write_cost(None, Some(&small), false).table, 1);
        assert_eq!(s.write_cost(Some(&big), Some(&small), false).table, 2);
        assert_eq!(s.write_cost(Some(&small), None, false).table, 1);
        // Deleting nothing still costs a unit.
        assert_eq!(s.write_cost(None, None, false).table, 1);
        assert_eq!(s.write_cost(None, Some(&big), true).table, 4);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
    }

    #[test]
    fn reads_are_charged_per_four_kb_halved_when_eventually_consistent() {
        assert_eq!(read_milli(0, true), 1000);
        assert_eq!(read_milli(0, false), 500);
        assert_eq!(read_milli(4096, true), 1000);
        assert_eq!(read_milli(4097, false), 1000);
        assert_eq!(read_milli(9000, true), 3000);
    }

    #[test]
    fn an_identical_overwrite_costs_nothing_on_an_index() {
        let same = item(&[("pk", "a"), ("sk", "1"), ("gsiPk", "g"), ("proj", "p")]);
        assert_eq!(units(&include(), Some(&same), Some(&same)), 0);
        assert_eq!(units(&schema(Projection::All), Some(&same), Some(&same)), 0);
        let cost = include().write_cost(Some(&same), Some(&same), false);
        assert_eq!(cost.table, 1);
        assert!(cost.indexes.is_empty());
    }

    #[test]
    fn a_sparse_entry_appearing_costs_its_new_size() {
        let absent = item(&[("pk", "a"), ("sk", "1"), ("proj", &pad(1500))]);
        let present = item(&[
            ("pk", "a"),
            ("sk", "1"),
            ("gsiPk", "g"),
            ("proj", &pad(1500)),
        ]);
        assert_eq!(units(&include(), Some(&absent), Some(&present)), 2);
        assert_eq!(units(&include(), None, Some(&present)), 2);
        // Leaving costs the old entry; never being in it costs nothing.
        assert_eq!(units(&include(), Some(&present), Some(&absent)), 2);
        assert_eq!(units(&include(), Some(&present), None), 2);
        assert_eq!(units(&include(), Some(&absent), None), 0);
    }

    #[test]
    fn a_moved_key_costs_old_plus_new() {
        // A 3017-byte entry (2+2 + 2+1 + 5+1 + 4+3000) moved: 3 + 1 = 4 units.
        let old = item(&[
            ("pk", "s5"),
            ("sk", "1"),
            ("gsiPk", "A"),
            ("proj", &pad(3000)),
        ]);
        assert_eq!(item_size(&old), 3017);
        let new = item(&[("pk", "s5"), ("sk", "1"), ("gsiPk", "B"), ("proj", "p")]);
        assert_eq!(units(&include(), Some(&old), Some(&new)), 4);
        // 1517 bytes either side of a move: 2 + 2, not the rounded sum.
        let a = item(&[
            ("pk", "s4"),
            ("sk", "1"),
            ("gsiPk", "A"),
            ("proj", &pad(1500)),
        ]);
        let b = item(&[
            ("pk", "s4"),
            ("sk", "1"),
            ("gsiPk", "B"),
            ("proj", &pad(1500)),
        ]);
        assert_eq!(units(&include(), Some(&a), Some(&b)), 4);
    }

    #[test]
    fn a_changed_entry_in_place_costs_the_larger_image() {
        let big = item(&[
            ("pk", "s2"),
            ("sk", "1"),
            ("gsiPk", "g"),
            ("proj", &pad(3000)),
        ]);
        let small = item(&[("pk", "s2"), ("sk", "1"), ("gsiPk", "g"), ("proj", "p")]);
        assert_eq!(units(&include(), Some(&big), Some(&small)), 3);
        assert_eq!(units(&include(), Some(&small), Some(&big)), 3);
    }

    #[test]
    fn only_projected_attributes_count() {
        let old = item(&[("pk", "b"), ("sk", "1"), ("gsiPk", "g"), ("other", "o")]);
        let new = item(&[
            ("pk", "b"),
            ("sk", "1"),
            ("gsiPk", "g"),
            ("other", &pad(3000)),
        ]);
        // A change outside the projection leaves INCLUDE and KEYS_ONLY entries unchanged.
        assert_eq!(units(&include(), Some(&old), Some(&new)), 0);
        assert_eq!(
            units(&schema(Projection::KeysOnly), Some(&old), Some(&new)),
            0
        );
        // ALL projects it, at the larger image's size.
        assert_eq!(units(&schema(Projection::All), Some(&old), Some(&new)), 3);
        // A KEYS_ONLY entry holds the table's and the index's keys only.
        assert_eq!(units(&schema(Projection::KeysOnly), None, Some(&new)), 1);
    }

    #[test]
    fn the_schema_comes_from_describe_table() {
        let described = json!({
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [
                {"IndexName": "ByStatus",
                 "KeySchema": [{"AttributeName": "statusKey", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "ALL"}},
                {"IndexName": "Failed",
                 "KeySchema": [{"AttributeName": "failed", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}},
                {"IndexName": "ByProvider",
                 "KeySchema": [{"AttributeName": "providerKey", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "KEYS_ONLY"}}
            ]
        });
        let schema = Schema::from_description(&described);
        assert_eq!(schema.key, ["pk", "sk"]);
        assert_eq!(
            schema
                .indexes
                .iter()
                .map(|i| (i.name.as_str(), i.projection.clone()))
                .collect::<Vec<_>>(),
            [
                ("ByStatus", Projection::All),
                ("Failed", Projection::Include(vec!["status".into()])),
                ("ByProvider", Projection::KeysOnly),
            ]
        );
        let record = item(&[("pk", "a"), ("sk", "1"), ("x", "y")]);
        assert_eq!(schema.key_of(&record), item(&[("pk", "a"), ("sk", "1")]));
    }
}
