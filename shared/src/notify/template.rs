//! A rule's templates: MiniJinja, with undefined values an error (a typo in a variable name
//! fails at save, not as an empty line in a customer's inbox), HTML autoescaped in `html`
//! bodies only, one set per locale and a fallback locale.
//!
//! What a template sees: `event` (the whole envelope: `id`, `eventName`, `eventData`, `tags`,
//! ...), `data` (its `eventData`), `recipient` (the recipient's item of the event, as it is),
//! `recipient_id`, `locale`, `type` (the notification type's key and name) and
//! `preferences_url` (the recipient's preference page).

use std::collections::BTreeMap;

use std::sync::Arc;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::json_fields::{ObjectReader, string};
use crate::common::validation::FieldErrors;
use crate::messaging::message::{BodyPart, Channel, SmsShape, SmsText, Subject};
use crate::notify::short_links::LinkCollector;

/// A locale as BCP 47 writes it, kept lowercase: `en`, `nb-no`, `zh-hant-tw`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    pub fn parse(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = lower.split('-');
        let ok = parts.next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase())
        }) && parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
            && lower.len() <= 35;
        if ok {
            Ok(Self(lower))
        } else {
            Err("must be a locale such as en, nb-NO or pt-BR".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `nb` for `nb-no`: the locale a regional one falls back to first.
    fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for Locale {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Locale> for String {
    fn from(v: Locale) -> String {
        v.0
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailTemplate {
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsTemplate {
    pub text: String,
}

/// A rule's templates: per channel, per locale. Every channel with templates has one in the
/// fallback locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Templates {
    pub fallback_locale: Locale,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub email: BTreeMap<Locale, EmailTemplate>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sms: BTreeMap<Locale, SmsTemplate>,
}

/// Where a template failed: the field (`templates.email.en.subject`), what went wrong, and
/// where in the template's source when MiniJinja knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateError {
    pub field: String,
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An email as rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedEmail {
    pub locale: Locale,
    pub subject: Subject,
    pub text: Option<BodyPart>,
    pub html: Option<BodyPart>,
}

/// An SMS as rendered, with how it will travel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedSms {
    pub locale: Locale,
    pub text: SmsText,
    pub shape: SmsShape,
}

/// The longest template source Herald keeps: rendered bodies are bounded by the message
/// limits anyway.
pub const MAX_SOURCE: usize = 100_000;

fn source(value: Value) -> Result<String, String> {
    let s = string(value)?;
    if s.len() > MAX_SOURCE {
        return Err(format!("must be at most {MAX_SOURCE} bytes"));
    }
    Ok(s)
}

fn per_locale<T>(
    r: &mut ObjectReader<'_>,
    name: &str,
    read: impl Fn(ObjectReader<'_>) -> Option<T>,
) -> Option<BTreeMap<Locale, T>> {
    r.nested(name, |mut locales| {
        let mut out = BTreeMap::new();
        let mut ok = true;
        // Every key is a locale: none is unknown, so the reader is emptied rather than
        // finished.
        for (key, value) in locales.take_all() {
            let path = locales.path(&key);
            let item = match Locale::parse(&key) {
                Err(e) => {
                    locales.errors().push(path, e);
                    None
                }
                Ok(locale) => ObjectReader::new(value, &path, locales.errors())
                    .and_then(&read)
                    .map(|t| (locale, t)),
            };
            match item {
                Some((locale, t)) => {
                    out.insert(locale, t);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    })
    .map(Option::unwrap_or_default)
}

/// Reads `templates` from a rule's body.
pub fn read_templates(r: &mut ObjectReader<'_>) -> Option<Templates> {
    let templates = r.nested("templates", |mut t| {
        let fallback = t.optional("fallbackLocale", |v| {
            string(v).and_then(|s| Locale::parse(&s))
        });
        let email = per_locale(&mut t, "email", |mut e| {
            let subject = e.required("subject", source);
            let text = e.optional("text", source);
            let html = e.optional("html", source);
            if matches!((&text, &html), (Some(None), Some(None))) {
                let path = e.path("text");
                e.errors().push(path, "text or html (or both) is required");
            }
            e.finish();
            Some(EmailTemplate {
                subject: subject?,
                text: text?,
                html: html?,
            })
        });
        let sms = per_locale(&mut t, "sms", |mut s| {
            let text = s.required("text", source);
            s.finish();
            Some(SmsTemplate { text: text? })
        });
        let path = t.path("fallbackLocale");
        t.finish();
        let templates = Templates {
            fallback_locale: fallback?.unwrap_or_else(|| Locale("en".into())),
            email: email?,
            sms: sms?,
        };
        Some((templates, path))
    });
    let (templates, fallback_path) = match templates {
        Some(Some(t)) => t,
        Some(None) => {
            r.errors().push("templates", "is required");
            return None;
        }
        None => return None,
    };
    let mut ok = true;
    if templates.email.is_empty() && templates.sms.is_empty() {
        r.errors()
            .push("templates", "must hold an email or an SMS template");
        ok = false;
    }
    for channel in templates.channels() {
        if !templates.has(channel, &templates.fallback_locale) {
            r.errors().push(
                fallback_path.clone(),
                format!(
                    "the {} templates have none in the fallback locale {}",
                    channel_label(channel),
                    templates.fallback_locale
                ),
            );
            ok = false;
        }
    }
    ok.then_some(templates)
}

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "SMS",
    }
}

fn name(channel: Channel, locale: &Locale, part: &str) -> String {
    // The suffix decides autoescaping: only `.html` templates escape.
    let ext = if part == "html" { "html" } else { "txt" };
    format!("{}/{}/{part}.{ext}", channel.as_str(), locale)
}

fn field_of(name: &str) -> String {
    // "email/en/subject.txt" → "templates.email.en.subject"
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    if stem == "first-key" {
        return "firstKey".into();
    }
    format!("templates.{}", stem.replace('/', "."))
}

/// The line and column (both from 1) of byte `offset` of `source`.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn error_of(e: &minijinja::Error, name: &str, source: &str) -> TemplateError {
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message = format!("{message}: {detail}");
    }
    let (line, column) = match (e.range(), e.line()) {
        (Some(range), _) => {
            let (l, c) = position(source, range.start);
            (Some(l), Some(c))
        }
        (None, Some(line)) => (Some(line), None),
        _ => (None, None),
    };
    if let (Some(l), Some(c)) = (line, column) {
        message = format!("{message} (line {l}, column {c})");
    } else if let Some(l) = line {
        message = format!("{message} (line {l})");
    }
    TemplateError {
        field: field_of(name),
        message,
        line,
        column,
    }
}

/// A rule's templates, parsed once and rendered for each recipient.
pub struct Compiled {
    env: Environment<'static>,
    sources: BTreeMap<String, String>,
    templates: Templates,
}

impl Templates {
    /// The channels with templates.
    pub fn channels(&self) -> Vec<Channel> {
        let mut out = Vec::new();
        if !self.email.is_empty() {
            out.push(Channel::Email);
        }
        if !self.sms.is_empty() {
            out.push(Channel::Sms);
        }
        out
    }

    pub fn has(&self, channel: Channel, locale: &Locale) -> bool {
        match channel {
            Channel::Email => self.email.contains_key(locale),
            Channel::Sms => self.sms.contains_key(locale),
        }
    }

    /// The locale to render `channel` in for a recipient who reads `wanted`: it, else its
    /// language (`nb` for `nb-NO`), else the fallback. `None` when the channel has no templates.
    pub fn locale_for(&self, channel: Channel, wanted: Option<&str>) -> Option<Locale> {
        let wanted = wanted.and_then(|w| Locale::parse(w).ok());
        let candidates = wanted
            .iter()
            .flat_map(|w| [w.clone(), Locale(w.language().to_owned())])
            .chain([self.fallback_locale.clone()]);
        candidates.into_iter().find(|l| self.has(channel, l))
    }

    /// Parses every template (and the first-occurrence key, when given), naming each one that
    /// does not parse.
    pub fn compile(&self, first_key: Option<&str>) -> Result<Compiled, Vec<TemplateError>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.add_filter("shorten", crate::notify::short_links::shorten_filter);
        let mut sources = BTreeMap::new();
        for (locale, t) in &self.email {
            sources.insert(name(Channel::Email, locale, "subject"), t.subject.clone());
            if let Some(text) = &t.text {
                sources.insert(name(Channel::Email, locale, "text"), text.clone());
            }
            if let Some(html) = &t.html {
                sources.insert(name(Channel::Email, locale, "html"), html.clone());
            }
        }
        for (locale, t) in &self.sms {
            sources.insert(name(Channel::Sms, locale, "text"), t.text.clone());
        }
        if let Some(key) = first_key {
            sources.insert("first-key.txt".into(), key.to_owned());
        }
        let mut errors = Vec::new();
        for (name, source) in &sources {
            if let Err(e) = env.add_template_owned(name.clone(), source.clone()) {
                errors.push(error_of(&e, name, source));
            }
        }
        if errors.is_empty() {
            Ok(Compiled {
                env,
                sources,
                templates: self.clone(),
            })
        } else {
            Err(errors)
        }
    }
}

impl Compiled {
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    fn render(&self, name: &str, context: &minijinja::Value) -> Result<String, TemplateError> {
        let source = self.sources.get(name).map_or("", String::as_str);
        let template = self
            .env
            .get_template(name)
            .map_err(|e| error_of(&e, name, source))?;
        template
            .render(context)
            .map_err(|e| error_of(&e, name, source))
    }

    fn part<T>(
        &self,
        name: &str,
        context: &minijinja::Value,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, TemplateError> {
        let rendered = self.render(name, context)?;
        parse(&rendered).map_err(|e| TemplateError {
            field: field_of(name),
            message: format!("the rendered text {e}"),
            line: None,
            column: None,
        })
    }

    /// The email for a recipient who reads `wanted`.
    pub fn email(
        &self,
        wanted: Option<&str>,
        context: &minijinja::Value,
    ) -> Result<RenderedEmail, TemplateError> {
        let locale = self.missing(Channel::Email, wanted)?;
        let t = &self.templates.email[&locale];
        let subject = self.part(&name(Channel::Email, &locale, "subject"), context, |s| {
            Subject::parse(s.trim())
        })?;
        let text = t
            .text
            .as_ref()
            .map(|_| {
                self.part(
                    &name(Channel::Email, &locale, "text"),
                    context,
                    BodyPart::parse,
                )
            })
            .transpose()?;
        let html = t
            .html
            .as_ref()
            .map(|_| {
                self.part(
                    &name(Channel::Email, &locale, "html"),
                    context,
                    BodyPart::parse,
                )
            })
            .transpose()?;
        Ok(RenderedEmail {
            locale,
            subject,
            text,
            html,
        })
    }

    /// The SMS for a recipient who reads `wanted`.
    pub fn sms(
        &self,
        wanted: Option<&str>,
        context: &minijinja::Value,
    ) -> Result<RenderedSms, TemplateError> {
        let locale = self.missing(Channel::Sms, wanted)?;
        let text = self.part(&name(Channel::Sms, &locale, "text"), context, |s| {
            SmsText::parse(s.trim())
        })?;
        let shape = SmsShape::of(text.as_str());
        Ok(RenderedSms {
            locale,
            text,
            shape,
        })
    }

    /// The first-occurrence key, trimmed; compiled only when the rule has one.
    pub fn first_key(&self, context: &minijinja::Value) -> Result<String, TemplateError> {
        let key = self.render("first-key.txt", context)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(TemplateError {
                field: "firstKey".into(),
                message: "rendered empty: the key must tell occurrences apart".into(),
                line: None,
                column: None,
            });
        }
        Ok(key.to_owned())
    }

    fn missing(&self, channel: Channel, wanted: Option<&str>) -> Result<Locale, TemplateError> {
        self.templates
            .locale_for(channel, wanted)
            .ok_or_else(|| TemplateError {
                field: format!("templates.{}", channel.as_str()),
                message: format!(
                    "no {} template for locale {} nor the fallback {}",
                    channel_label(channel),
                    wanted.unwrap_or("(none)"),
                    self.templates.fallback_locale
                ),
                line: None,
                column: None,
            })
    }
}

/// The event's part of what templates see, built once per event: an event may name a
/// thousand recipients, and each recipient's context shares it rather than copying it.
#[derive(Clone)]
pub struct EventContext {
    event: minijinja::Value,
    data: minijinja::Value,
}

impl EventContext {
    pub fn of(event: &Value) -> Self {
        let data = event.get("eventData").cloned().unwrap_or(Value::Null);
        Self {
            event: minijinja::Value::from_serialize(event),
            data: minijinja::Value::from_serialize(&data),
        }
    }
}

/// What a template sees (see the module's documentation).
pub fn context(
    event: &EventContext,
    recipient: &Value,
    recipient_id: &str,
    locale: Option<&str>,
    type_: (&str, &str),
    preferences_url: &str,
    short_links: Option<&Arc<LinkCollector>>,
) -> minijinja::Value {
    // Not a variable templates name: the `shorten` filter finds its collector by it.
    let short_links = short_links
        .map(|c| minijinja::Value::from_dyn_object(c.clone()))
        .unwrap_or_default();
    minijinja::context! {
        event => event.event.clone(),
        data => event.data.clone(),
        recipient => minijinja::Value::from_serialize(recipient),
        recipient_id => recipient_id,
        locale => locale,
        type => minijinja::context! { key => type_.0, name => type_.1 },
        preferences_url => preferences_url,
        __short_links => short_links,
    }
}

/// Records template errors as field errors, for a 400.
pub fn push_errors(errors: &mut FieldErrors, found: Vec<TemplateError>) {
    push_errors_under(errors, "", found);
}

/// Records template errors of templates nested under `prefix` (`reminders.`).
pub fn push_errors_under(errors: &mut FieldErrors, prefix: &str, found: Vec<TemplateError>) {
    for e in found {
        errors.push(format!("{prefix}{}", e.field), e.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates() -> Templates {
        Templates {
            fallback_locale: Locale::parse("en").unwrap(),
            email: BTreeMap::from([(
                Locale::parse("en").unwrap(),
                EmailTemplate {
                    subject: "{{ data.title }} was signed".into(),
                    text: Some("Hello {{ recipient.name }}".into()),
                    html: Some("<p>Hello {{ recipient.name }}</p>".into()),
                },
            )]),
            sms: BTreeMap::from([
                (
                    Locale::parse("en").unwrap(),
                    SmsTemplate {
                        text: "Signed: {{ data.title }}".into(),
                    },
                ),
                (
                    Locale::parse("nb").unwrap(),
                    SmsTemplate {
                        text: "Signert: {{ data.title }}".into(),
                    },
                ),
            ]),
        }
    }

    fn ctx(name: &str) -> minijinja::Value {
        context(
            &EventContext::of(&json!({"eventData": {"title": "Lease"}})),
            &json!({"name": name}),
            "r1",
            None,
            ("request.signed", "Request signed"),
            "https://h/p",
            None,
        )
    }

    #[test]
    fn renders_with_html_escaped_only_in_html() {
        let c = templates().compile(None).expect("compiles");
        let email = c.email(Some("de"), &ctx("<Ann & Bob>")).expect("renders");
        assert_eq!(email.locale.as_str(), "en");
        assert_eq!(email.subject.as_str(), "Lease was signed");
        assert_eq!(email.text.unwrap().as_str(), "Hello <Ann & Bob>");
        assert_eq!(
            email.html.unwrap().as_str(),
            "<p>Hello &lt;Ann &amp; Bob&gt;</p>"
        );
    }

    #[test]
    fn locales_fall_back_from_region_to_language_to_fallback() {
        let t = templates();
        assert_eq!(
            t.locale_for(Channel::Sms, Some("nb-NO")).unwrap().as_str(),
            "nb"
        );
        assert_eq!(
            t.locale_for(Channel::Sms, Some("sv")).unwrap().as_str(),
            "en"
        );
        assert_eq!(t.locale_for(Channel::Sms, None).unwrap().as_str(), "en");
        let sms = t
            .compile(None)
            .unwrap()
            .sms(Some("nb_NO"), &ctx("x"))
            .unwrap();
        assert_eq!(sms.text.as_str(), "Signert: Lease");
        assert_eq!(sms.shape.segments, 1);
    }

    #[test]
    fn undefined_values_fail_with_their_place() {
        let mut t = templates();
        t.sms.get_mut(&Locale::parse("en").unwrap()).unwrap().text =
            "Hi\n  {{ data.missing }}".into();
        let e = t
            .compile(None)
            .unwrap()
            .sms(None, &ctx("x"))
            .expect_err("undefined");
        assert_eq!(e.field, "templates.sms.en.text");
        assert_eq!((e.line, e.column), (Some(2), Some(6)), "{e:?}");
        assert!(e.message.contains("undefined"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_name_every_template() {
        let mut t = templates();
        t.email
            .get_mut(&Locale::parse("en").unwrap())
            .unwrap()
            .subject = "{{ oops".into();
        t.sms.get_mut(&Locale::parse("nb").unwrap()).unwrap().text = "{% if %}".into();
        let errors = t.compile(Some("{{ }}")).err().expect("errors");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "templates.email.en.subject",
                "firstKey",
                "templates.sms.nb.text"
            ]
        );
        assert!(errors.iter().all(|e| e.line == Some(1)), "{errors:?}");
    }

    #[test]
    fn rendered_text_must_still_be_a_message() {
        let mut t = templates();
        t.email
            .get_mut(&Locale::parse("en").unwrap())
            .unwrap()
            .subject = "{{ data.title }}\nsecond line".into();
        let e = t
            .compile(None)
            .unwrap()
            .email(None, &ctx("x"))
            .expect_err("two lines");
        assert_eq!(e.field, "templates.email.en.subject");
    }

    #[test]
    fn shorten_makes_a_short_link_per_rendering_and_refuses_javascript() {
        let mut t = templates();
        t.sms.get_mut(&Locale::parse("en").unwrap()).unwrap().text =
            "Sign: {{ recipient.url | shorten }}".into();
        let c = t.compile(None).unwrap();
        let event = EventContext::of(&json!({"eventData": {"title": "Lease"}}));
        let collector = LinkCollector::new("https://go.example");
        let ctx = |url: &str| {
            context(
                &event,
                &json!({"url": url}),
                "r1",
                None,
                ("t", "T"),
                "",
                Some(&collector),
            )
        };
        let sms = c
            .sms(None, &ctx("https://sign.example/r/42"))
            .expect("renders");
        assert!(
            sms.text.as_str().starts_with("Sign: https://go.example/"),
            "{}",
            sms.text.as_str()
        );
        let e = c
            .sms(None, &ctx("javascript:alert(1)"))
            .expect_err("refused");
        assert!(e.message.contains("javascript:"), "{}", e.message);
        let none = context(
            &event,
            &json!({"url": "https://x.example"}),
            "r1",
            None,
            ("t", "T"),
            "",
            None,
        );
        assert!(c.sms(None, &none).is_err(), "no short links configured");
    }

    #[test]
    fn a_channel_without_templates_says_which_locale() {
        let mut t = templates();
        t.email.clear();
        let e = t
            .compile(None)
            .unwrap()
            .email(Some("fr"), &ctx("x"))
            .expect_err("none");
        assert!(e.message.contains("fr"), "{}", e.message);
    }
}
