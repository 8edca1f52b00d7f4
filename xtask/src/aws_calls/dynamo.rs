//! The proxy's DynamoDB accounting: what each call consumes in read and write units, worked out
//! from the items moto stores (see [`super::capacity`]).
//!
//! Before a write is forwarded, the items it touches are read from moto directly; after it
//! succeeds, the items it left are taken from the request (Put), from the answer (`ReturnValues`
//! `ALL_NEW`) or read back. These reads, and the DescribeTable calls that give each table's keys
//! and indexes, go straight to moto: they are not the functions' calls and are not counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::capacity::{Item, MILLI, Schema, item_size, read_milli};

/// The signature headers of the caller's request, which moto reads the account and region from;
/// the meter's own reads carry them so that they see what the caller sees.
#[derive(Clone, Default)]
pub struct Credentials(Vec<(String, String)>);

impl Credentials {
    pub fn of(headers: &HeaderMap) -> Self {
        Self(
            ["authorization", "x-amz-date", "x-amz-security-token"]
                .iter()
                .filter_map(|name| {
                    let value = headers.get(*name)?.to_str().ok()?;
                    Some(((*name).to_owned(), value.to_owned()))
                })
                .collect(),
        )
    }
}

/// Usage to add to the caller's account: (key, thousandths of a unit).
pub type Charges = Vec<(String, u64)>;

/// The key read units of `table` (or of its `index`) are counted under.
pub fn read_key(table: &str, index: Option<&str>) -> String {
    key(super::RRU, table, index)
}

/// The key write units of `table` (or of its `index`) are counted under.
pub fn write_key(table: &str, index: Option<&str>) -> String {
    key(super::WRU, table, index)
}

fn key(kind: &str, table: &str, index: Option<&str>) -> String {
    match index {
        Some(index) => format!("{kind}{table}/{index}"),
        None => format!("{kind}{table}"),
    }
}

/// A table's name as the keys show it: an ARN names it after `table/`.
fn short(table: &str) -> &str {
    table.rsplit_once(":table/").map_or(table, |(_, name)| name)
}

#[derive(Clone)]
pub struct Meter {
    upstream: String,
    http: reqwest::Client,
    schemas: Arc<Mutex<HashMap<String, Arc<Schema>>>>,
}

/// How an item is written.
enum Change {
    Put(Item),
    Update,
    Delete,
    /// A transaction's ConditionCheck: charged as a write of the item, changing no index.
    Check,
}

/// One item a write touches, read before the write.
struct Write {
    table: String,
    schema: Arc<Schema>,
    key: Item,
    old: Option<Item>,
    change: Change,
    transactional: bool,
}

/// One item a read returns, with how it is charged.
struct Read {
    table: String,
    key: Item,
    consistent: bool,
    /// 2 for TransactGetItems, which reads every item twice.
    factor: u64,
}

/// What a call is, worked out before it is forwarded.
pub struct Pending {
    op: String,
    request: Value,
    writes: Vec<Write>,
}

impl Meter {
    pub fn new(upstream: String, http: reqwest::Client) -> Self {
        Self {
            upstream,
            http,
            schemas: Arc::default(),
        }
    }

    /// A call of the meter's own, straight to moto.
    async fn call(&self, credentials: &Credentials, op: &str, body: &Value) -> Option<Value> {
        let mut request = self
            .http
            .post(format!("{}/", self.upstream))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
            .header("user-agent", "herald-capacity-meter")
            .body(body.to_string());
        for (name, value) in &credentials.0 {
            request = request.header(name, value);
        }
        let answer = request.send().await.ok()?;
        if !answer.status().is_success() {
            return None;
        }
        answer.json().await.ok()
    }

    async fn schema(&self, credentials: &Credentials, table: &str) -> Arc<Schema> {
        let known = self
            .schemas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(table)
            .cloned();
        if let Some(schema) = known {
            return schema;
        }
        let Some(described) = self
            .call(credentials, "DescribeTable", &json!({"TableName": table}))
            .await
        else {
            return Arc::default();
        };
        let schema = Arc::new(Schema::from_description(&described["Table"]));
        self.schemas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(table.to_owned(), schema.clone());
        schema
    }

    /// The whole item stored under `key`, as a strongly consistent read sees it.
    async fn item(&self, credentials: &Credentials, table: &str, key: &Item) -> Option<Item> {
        let answer = self
            .call(
                credentials,
                "GetItem",
                &json!({"TableName": table, "Key": key, "ConsistentRead": true}),
            )
            .await?;
        answer["Item"].as_object().cloned()
    }

    async fn write(
        &self,
        credentials: &Credentials,
        table: &str,
        key_or_item: &Item,
        change: Change,
        transactional: bool,
    ) -> Write {
        let schema = self.schema(credentials, table).await;
        let key = schema.key_of(key_or_item);
        let old = self.item(credentials, table, &key).await;
        Write {
            table: table.to_owned(),
            schema,
            key,
            old,
            change,
            transactional,
        }
    }

    /// Reads what a write is about to change; nothing for other calls.
    pub async fn before(
        &self,
        credentials: &Credentials,
        op: &str,
        request: &Value,
    ) -> Option<Pending> {
        let object = |v: &Value| v.as_object().cloned().unwrap_or_default();
        let table = request["TableName"].as_str().unwrap_or_default();
        let mut writes = Vec::new();
        match op {
            "PutItem" => {
                let item = object(&request["Item"]);
                writes.push(
                    self.write(credentials, table, &item, Change::Put(item.clone()), false)
                        .await,
                );
            }
            "UpdateItem" | "DeleteItem" => {
                let change = if op == "UpdateItem" {
                    Change::Update
                } else {
                    Change::Delete
                };
                writes.push(
                    self.write(credentials, table, &object(&request["Key"]), change, false)
                        .await,
                );
            }
            "BatchWriteItem" => {
                for (table, requests) in request["RequestItems"].as_object().into_iter().flatten() {
                    for r in requests.as_array().into_iter().flatten() {
                        let (key, change) = if r["PutRequest"].is_object() {
                            let item = object(&r["PutRequest"]["Item"]);
                            (item.clone(), Change::Put(item))
                        } else {
                            (object(&r["DeleteRequest"]["Key"]), Change::Delete)
                        };
                        writes.push(self.write(credentials, table, &key, change, false).await);
                    }
                }
            }
            "TransactWriteItems" => {
                for t in request["TransactItems"].as_array().into_iter().flatten() {
                    let (action, key, change) = if t["Put"].is_object() {
                        let item = object(&t["Put"]["Item"]);
                        ("Put", item.clone(), Change::Put(item))
                    } else if t["Update"].is_object() {
                        ("Update", object(&t["Update"]["Key"]), Change::Update)
                    } else if t["Delete"].is_object() {
                        ("Delete", object(&t["Delete"]["Key"]), Change::Delete)
                    } else {
                        (
                            "ConditionCheck",
                            object(&t["ConditionCheck"]["Key"]),
                            Change::Check,
                        )
                    };
                    let table = t[action]["TableName"].as_str().unwrap_or_default();
                    writes.push(self.write(credentials, table, &key, change, true).await);
                }
            }
            "GetItem" | "BatchGetItem" | "TransactGetItems" | "Query" | "Scan" => {}
            _ => return None,
        }
        Some(Pending {
            op: op.to_owned(),
            request: request.clone(),
            writes,
        })
    }

    /// What the call consumed, given moto's answer.
    pub async fn after(
        &self,
        credentials: &Credentials,
        pending: Pending,
        succeeded: bool,
        answer: &[u8],
    ) -> Charges {
        let answer: Value = serde_json::from_slice(answer).unwrap_or_default();
        if !succeeded {
            return self.failed(pending, &answer);
        }
        let request = &pending.request;
        match pending.op.as_str() {
            "GetItem" => {
                let table = request["TableName"].as_str().unwrap_or_default();
                let read = Read {
                    table: table.to_owned(),
                    key: request["Key"].as_object().cloned().unwrap_or_default(),
                    consistent: request["ConsistentRead"].as_bool().unwrap_or(false),
                    factor: 1,
                };
                // A projection does not make a read cheaper: the whole item is what is read.
                let projected = request.get("ProjectionExpression").is_some()
                    || request.get("AttributesToGet").is_some();
                let returned = answer["Item"].as_object().filter(|_| !projected);
                self.reads(credentials, vec![read], returned).await
            }
            "BatchGetItem" => {
                let mut reads = Vec::new();
                for (table, asked) in request["RequestItems"].as_object().into_iter().flatten() {
                    let unprocessed = &answer["UnprocessedKeys"][table]["Keys"];
                    for key in asked["Keys"].as_array().into_iter().flatten() {
                        if unprocessed
                            .as_array()
                            .is_some_and(|keys| keys.contains(key))
                        {
                            continue;
                        }
                        reads.push(Read {
                            table: table.clone(),
                            key: key.as_object().cloned().unwrap_or_default(),
                            consistent: asked["ConsistentRead"].as_bool().unwrap_or(false),
                            factor: 1,
                        });
                    }
                }
                self.reads(credentials, reads, None).await
            }
            "TransactGetItems" => {
                let reads = request["TransactItems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| Read {
                        table: t["Get"]["TableName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        key: t["Get"]["Key"].as_object().cloned().unwrap_or_default(),
                        consistent: true,
                        factor: 2,
                    })
                    .collect();
                self.reads(credentials, reads, None).await
            }
            "Query" | "Scan" => self.query(credentials, request, &answer).await,
            _ => self.written(credentials, pending, &answer).await,
        }
    }

    /// Read units of items read by key, each rounded on its own. `returned` is the item of a
    /// single GetItem when its answer holds the whole of it.
    async fn reads(
        &self,
        credentials: &Credentials,
        reads: Vec<Read>,
        returned: Option<&Item>,
    ) -> Charges {
        let mut charges = Charges::new();
        for read in reads {
            let size = match returned {
                Some(item) => item_size(item),
                None => self
                    .item(credentials, &read.table, &read.key)
                    .await
                    .map_or(0, |item| item_size(&item)),
            };
            charges.push((
                read_key(short(&read.table), None),
                read_milli(size, read.consistent) * read.factor,
            ));
        }
        charges
    }

    /// A Query or Scan costs the items it read, before any filter: so it is sized from the same
    /// request run again (not counted) without its filter, projection or `Select`, unless it
    /// had none of them.
    async fn query(&self, credentials: &Credentials, request: &Value, answer: &Value) -> Charges {
        let table = request["TableName"].as_str().unwrap_or_default();
        let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
        let narrowed = [
            "FilterExpression",
            "ProjectionExpression",
            "Select",
            "AttributesToGet",
            "QueryFilter",
            "ScanFilter",
            "ConditionalOperator",
        ];
        let items = if narrowed.iter().any(|k| request.get(*k).is_some()) {
            let mut unfiltered = request.clone();
            if let Some(object) = unfiltered.as_object_mut() {
                for k in narrowed {
                    object.remove(k);
                }
                prune_placeholders(object);
            }
            let op = if request.get("KeyConditionExpression").is_some()
                || request.get("KeyConditions").is_some()
            {
                "Query"
            } else {
                "Scan"
            };
            self.call(credentials, op, &unfiltered)
                .await
                .map_or(Value::Null, |a| a["Items"].clone())
        } else {
            answer["Items"].clone()
        };
        let size: u64 = items
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .map(item_size)
            .sum();
        vec![(
            read_key(short(table), request["IndexName"].as_str()),
            read_milli(size, consistent),
        )]
    }

    /// Write units of a write that succeeded: the new items are the request's (Put), none
    /// (Delete), or read back (Update, unless the answer holds the whole new item).
    async fn written(
        &self,
        credentials: &Credentials,
        pending: Pending,
        answer: &Value,
    ) -> Charges {
        let whole_new = pending.op == "UpdateItem"
            && pending.request["ReturnValues"].as_str() == Some("ALL_NEW");
        let unprocessed = &answer["UnprocessedItems"];
        let mut charges = Charges::new();
        for write in pending.writes {
            let new = match &write.change {
                Change::Put(item) => {
                    if is_unprocessed(unprocessed, &write.table, "PutRequest", "Item", item) {
                        continue;
                    }
                    Some(item.clone())
                }
                Change::Delete => {
                    if is_unprocessed(
                        unprocessed,
                        &write.table,
                        "DeleteRequest",
                        "Key",
                        &write.key,
                    ) {
                        continue;
                    }
                    None
                }
                Change::Update if whole_new => answer["Attributes"].as_object().cloned(),
                Change::Update => self.item(credentials, &write.table, &write.key).await,
                Change::Check => write.old.clone(),
            };
            let mut cost =
                write
                    .schema
                    .write_cost(write.old.as_ref(), new.as_ref(), write.transactional);
            if matches!(write.change, Change::Check) {
                cost.indexes.clear();
            }
            let table = short(&write.table);
            charges.push((write_key(table, None), cost.table * MILLI));
            for (index, units) in cost.indexes {
                charges.push((write_key(table, Some(&index)), units * MILLI));
            }
        }
        charges
    }

    /// A write refused by its condition (or a transaction cancelled by one) still consumes the
    /// table's units for its items; no index changes. Other errors consume nothing.
    fn failed(&self, pending: Pending, answer: &Value) -> Charges {
        let kind = answer["__type"].as_str().unwrap_or_default();
        if !(kind.ends_with("ConditionalCheckFailedException")
            || kind.ends_with("TransactionCanceledException"))
        {
            return Charges::new();
        }
        pending
            .writes
            .into_iter()
            .map(|write| {
                let new = match write.change {
                    Change::Put(item) => Some(item),
                    _ => None,
                };
                let cost =
                    write
                        .schema
                        .write_cost(write.old.as_ref(), new.as_ref(), write.transactional);
                (write_key(short(&write.table), None), cost.table * MILLI)
            })
            .collect()
    }
}

/// Whether BatchWriteItem handed this request back unprocessed (it was not written).
fn is_unprocessed(unprocessed: &Value, table: &str, kind: &str, field: &str, item: &Item) -> bool {
    unprocessed[table].as_array().is_some_and(|requests| {
        requests
            .iter()
            .any(|r| r[kind][field].as_object() == Some(item))
    })
}

/// Drops the `#name` and `:value` placeholders no remaining expression uses, as DynamoDB refuses
/// unused ones.
fn prune_placeholders(request: &mut serde_json::Map<String, Value>) {
    let expressions: Vec<String> = ["KeyConditionExpression", "ProjectionExpression"]
        .iter()
        .filter_map(|k| request.get(*k).and_then(Value::as_str).map(str::to_owned))
        .collect();
    for field in ["ExpressionAttributeNames", "ExpressionAttributeValues"] {
        let Some(placeholders) = request.get_mut(field).and_then(Value::as_object_mut) else {
            continue;
        };
        placeholders.retain(|name, _| expressions.iter().any(|e| mentions(e, name)));
        if placeholders.is_empty() {
            request.remove(field);
        }
    }
}

/// Whether `expression` uses the placeholder `name` (and not just a longer one it begins).
fn mentions(expression: &str, name: &str) -> bool {
    expression.match_indices(name).any(|(at, _)| {
        !expression[at + name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_only_the_filter_used_are_dropped() {
        let mut request = json!({
            "KeyConditionExpression": "#pk = :pk AND sk > :sk1",
            "ExpressionAttributeNames": {"#pk": "pk", "#s": "status"},
            "ExpressionAttributeValues": {":pk": {"S": "a"}, ":sk1": {"S": "1"}, ":sk": {"S": "x"},
                                          ":now": {"N": "1"}}
        });
        prune_placeholders(request.as_object_mut().expect("object"));
        assert_eq!(
            request,
            json!({
                "KeyConditionExpression": "#pk = :pk AND sk > :sk1",
                "ExpressionAttributeNames": {"#pk": "pk"},
                "ExpressionAttributeValues": {":pk": {"S": "a"}, ":sk1": {"S": "1"}}
            })
        );
    }

    #[test]
    fn tables_are_named_without_their_arn() {
        assert_eq!(
            short("arn:aws:dynamodb:us-east-1:123456789012:table/herald-local-Messages"),
            "herald-local-Messages"
        );
        assert_eq!(short("herald-local-Messages"), "herald-local-Messages");
        assert_eq!(read_key("t", Some("i")), "rru t/i");
        assert_eq!(write_key("t", None), "wru t");
    }
}
