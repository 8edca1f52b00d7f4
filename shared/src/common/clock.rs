//! Time and identifiers as ports, so that expiry, retention and ordering are testable without
//! sleeping.

use std::sync::Mutex;

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until moved: for tests.
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn at(t: OffsetDateTime) -> Self {
        Self(Mutex::new(t))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// UTC, cut to the millisecond: the precision Herald keeps times at. Every time a record holds
/// is made with it, so that a record read back from a store (which keeps what [`rfc3339`]
/// writes) equals the one written, and an in-memory store holds what DynamoDB would.
pub fn to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(u32::from(t.millisecond()) * 1_000_000)
        .unwrap_or(t)
}

/// RFC 3339 with millisecond precision, UTC: the one time format Herald writes. Fractional
/// digits are written only as far as they are not zero (`2030-01-01T00:00:00Z`,
/// `2030-01-01T00:00:00.5Z`, `2030-01-01T00:00:00.123Z`); a year RFC 3339 cannot write (before
/// year 0) is written as Unix seconds.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = to_millis(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Reads a time as Herald has written it, held as [`to_millis`] makes it: RFC 3339 with any
/// number of fractional digits and any offset (the next attempt of a message was once written
/// to the nanosecond), or the Unix seconds [`rfc3339`] falls back to.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    let t = match OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        Ok(t) => t,
        Err(_)
            if !s.is_empty()
                && s.trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            OffsetDateTime::from_unix_timestamp(s.parse().ok()?).ok()?
        }
        Err(_) => return None,
    };
    Some(to_millis(t))
}

/// Serde for a time held by a record, a job or an API answer: written as [`rfc3339`] writes it,
/// read as [`parse_rfc3339`] reads it.
///
/// ```
/// use herald::common::clock::rfc3339_serde;
/// use serde::{Deserialize, Serialize};
/// use time::OffsetDateTime;
/// use time::macros::datetime;
///
/// #[derive(Serialize, Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Claimed {
///     #[serde(with = "rfc3339_serde")]
///     created_at: OffsetDateTime,
///     #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_serde::option")]
///     claimed_until: Option<OffsetDateTime>,
/// }
///
/// let claimed = Claimed {
///     created_at: datetime!(2030-01-01 00:00:00 UTC),
///     claimed_until: Some(datetime!(2030-01-01 00:00:45.25 UTC)),
/// };
/// assert_eq!(
///     serde_json::to_string(&claimed).expect("serializes"),
///     r#"{"createdAt":"2030-01-01T00:00:00Z","claimedUntil":"2030-01-01T00:00:45.25Z"}"#
/// );
/// ```
pub mod rfc3339_serde {
    use serde::{Deserializer, Serializer, de};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        d.deserialize_str(Visitor)
    }

    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = OffsetDateTime;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an RFC 3339 time")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<OffsetDateTime, E> {
            super::parse_rfc3339(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }

    /// The same for an optional time: `None` is whatever the field's `skip_serializing_if` and
    /// `default` make it (absent, or null).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};
        use time::OffsetDateTime;

        struct Written<'a>(&'a OffsetDateTime);

        impl Serialize for Written<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                super::serialize(self.0, s)
            }
        }

        #[derive(Deserialize)]
        struct Read(#[serde(with = "super")] OffsetDateTime);

        pub fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            t.as_ref().map(Written).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            Ok(Option::<Read>::deserialize(d)?.map(|Read(t)| t))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Stamped {
        #[serde(with = "rfc3339_serde")]
        at: OffsetDateTime,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "rfc3339_serde::option"
        )]
        until: Option<OffsetDateTime>,
    }

    #[test]
    fn writes_utc_to_the_millisecond_without_trailing_zeros() {
        for (t, text) in [
            (datetime!(2030-01-01 00:00:00 UTC), "2030-01-01T00:00:00Z"),
            (
                datetime!(2030-01-01 00:00:00.5 UTC),
                "2030-01-01T00:00:00.5Z",
            ),
            (
                datetime!(2023-11-13 11:38:10.730 UTC),
                "2023-11-13T11:38:10.73Z",
            ),
            (
                datetime!(2030-01-01 00:00:00.123 UTC),
                "2030-01-01T00:00:00.123Z",
            ),
            (
                datetime!(2030-01-01 00:00:00.1239999 UTC),
                "2030-01-01T00:00:00.123Z",
            ),
            (
                datetime!(2030-01-01 00:00:00.0009 UTC),
                "2030-01-01T00:00:00Z",
            ),
            (
                datetime!(2030-01-01 01:00:00.25 +01:00),
                "2030-01-01T00:00:00.25Z",
            ),
        ] {
            assert_eq!(rfc3339(t), text);
            let json = serde_json::to_value(Stamped { at: t, until: None }).expect("json");
            assert_eq!(
                json,
                json!({ "at": text }),
                "the helper writes what rfc3339 does"
            );
        }
    }

    #[test]
    fn round_trips_in_json_and_dynamodb_items() {
        let stamped = Stamped {
            at: to_millis(datetime!(2030-01-01 00:00:00.123456 UTC)),
            until: Some(datetime!(2030-01-01 00:00:45.1 UTC)),
        };
        let text = serde_json::to_string(&stamped).expect("json");
        assert_eq!(
            text,
            r#"{"at":"2030-01-01T00:00:00.123Z","until":"2030-01-01T00:00:45.1Z"}"#
        );
        assert_eq!(
            serde_json::from_str::<Stamped>(&text).expect("reads"),
            stamped
        );

        // As the DynamoDB adapters store it (serde_dynamo comes with them).
        #[cfg(feature = "aws")]
        {
            let item =
                serde_dynamo::to_attribute_value::<_, serde_dynamo::AttributeValue>(&stamped)
                    .expect("item");
            let serde_dynamo::AttributeValue::M(map) = &item else {
                panic!("a map: {item:?}");
            };
            assert_eq!(
                map.get("at"),
                Some(&serde_dynamo::AttributeValue::S(
                    "2030-01-01T00:00:00.123Z".into()
                ))
            );
            assert_eq!(
                serde_dynamo::from_attribute_value::<_, Stamped>(item).expect("reads"),
                stamped
            );
        }

        let none = Stamped {
            at: stamped.at,
            until: None,
        };
        let json = serde_json::to_value(&none).expect("json");
        assert!(json.get("until").is_none(), "{json}");
        assert_eq!(
            serde_json::from_value::<Stamped>(json).expect("reads"),
            none
        );
        assert_eq!(
            serde_json::from_value::<Stamped>(
                json!({"at": "2030-01-01T00:00:00.123Z", "until": null})
            )
            .expect("null reads as none"),
            none
        );
    }

    #[test]
    fn reads_what_is_stored_and_writes_it_back_unchanged() {
        // Every form rfc3339 writes, the Unix seconds it falls back to included.
        let fallback =
            rfc3339(OffsetDateTime::from_unix_timestamp(-62_200_000_000).expect("a year before 0"));
        assert_eq!(fallback, "-62200000000");
        for stored in [
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00.5Z",
            "2023-11-13T11:38:10.73Z",
            "2030-04-01T12:34:56.789Z",
            fallback.as_str(),
        ] {
            let read: Stamped =
                serde_json::from_value(json!({"at": stored, "until": stored})).expect(stored);
            assert_eq!(read.until, Some(read.at));
            assert_eq!(
                serde_json::to_value(&read).expect("json"),
                json!({"at": stored, "until": stored}),
                "{stored} is written back byte for byte"
            );
        }
    }

    #[test]
    fn reads_other_precisions_and_offsets_as_utc_milliseconds() {
        for (stored, t) in [
            // A message's next attempt was once written to the nanosecond.
            (
                "2030-01-01T00:03:00.123456789Z",
                datetime!(2030-01-01 00:03:00.123 UTC),
            ),
            (
                "2030-01-01T00:03:00.000000001Z",
                datetime!(2030-01-01 00:03:00 UTC),
            ),
            (
                "2030-01-01T01:03:00.5+01:00",
                datetime!(2030-01-01 00:03:00.5 UTC),
            ),
            ("2030-01-01t00:03:00z", datetime!(2030-01-01 00:03:00 UTC)),
            ("1893456000", datetime!(2030-01-01 00:00:00 UTC)),
        ] {
            let read: Stamped = serde_json::from_value(json!({ "at": stored })).expect(stored);
            assert_eq!(read.at, t, "{stored}");
            assert_eq!(read.at.offset(), time::UtcOffset::UTC);
            assert_eq!(parse_rfc3339(stored), Some(t));
        }
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for bad in [
            json!("yesterday"),
            json!(""),
            json!("-"),
            json!("2030-01-01T00:00:00"),
            json!("2030-01-01"),
            json!(1_893_456_000),
            json!(null),
        ] {
            assert!(
                serde_json::from_value::<Stamped>(json!({ "at": bad })).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<Stamped>(json!({})).is_err());
    }
}
