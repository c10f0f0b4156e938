//! The development pages: what a bank's internet banking and a Harim-style
//! payment gateway do with the service, as two small server-rendered pages
//! and a development SMS inbox. Served in development mode only, with no
//! client credential: a demonstration, not a bank's front end.
//!
//! - `/bank/activate` — internet banking's «فعال‌سازی رمز دوم پویا»: a demo
//!   customer picks one of three demo cards, sees its QR code and payload
//!   (the activation code goes by SMS to the registered mobile number), and
//!   types the confirmation code the app shows.
//! - `/pay` — the payment gateway: card number, CVV2, expiry, amount and
//!   merchant; «درخواست رمز پویا» sends a transaction-bound SMS code (a
//!   countdown until it expires); the second-PIN field takes that code or the
//!   app's dynamic PIN (plain or amount-bound), in any digit script.
//! - `/dev/inbox` — the development outbox's messages, newest first.
//!
//! Pages are Persian and right-to-left (`?lang=en`: English, left-to-right),
//! work without JavaScript (forms POST, the server renders the result); the
//! script only adds the countdown and a copy button. Which code the
//! second-PIN field holds is decided so that a wrong entry counts once
//! (docs/verifier.md, "Pages"): by its length — the SMS code's digits (6)
//! are checked as the transaction's SMS code; 8 digits as a dynamic PIN: the
//! plain second PIN is looked up in the window without counting, and the
//! code verified (counted) as that PIN if it is one, else as the
//! amount-bound PIN for this amount and merchant.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::App;
use super::api::{self, Channel, Pins, ProvisionInput};
use super::error::ApiError;
use crate::sms::{SmsError, Transaction};
use crate::store::{CardStatus, Store};
use crate::verifier::VerifyError;
use dynpin::card::{Bank, CardId, CardNumber, CardRef};
use dynpin::pin::PinKind;
use dynpin::text;

/// A demo card of the demo customer.
#[derive(Debug, Clone, Copy)]
pub struct DemoCard {
    /// The 16-digit card number (Luhn-valid).
    pub number: &'static str,
    /// Its CVV2.
    pub cvv2: &'static str,
    /// Expiry month, 1–12.
    pub exp_month: u8,
    /// Expiry year, two digits of the Persian calendar (07 = 1407).
    pub exp_year: u8,
}

/// The demo customer's cards: Mellat, Melli and Saman.
pub const DEMO_CARDS: [DemoCard; 3] = [
    DemoCard {
        number: "6104337182611234",
        cvv2: "123",
        exp_month: 8,
        exp_year: 7,
    },
    DemoCard {
        number: "6037991528495678",
        cvv2: "456",
        exp_month: 3,
        exp_year: 6,
    },
    DemoCard {
        number: "6219869043739012",
        cvv2: "7890",
        exp_month: 12,
        exp_year: 8,
    },
];

/// The demo customer's registered mobile number.
pub const DEMO_PHONE: &str = "09121234567";

/// Who the audit log names for provisioning from the pages.
const ACTOR: &str = "internet-banking-demo";

/// The pages' memory: which card id each demo card was last provisioned as
/// (one instance; forgotten on restart).
#[derive(Debug, Default)]
pub struct Pages {
    cards: Mutex<[Option<CardId>; DEMO_CARDS.len()]>,
}

impl Pages {
    /// Nothing provisioned yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn card_id(&self, index: usize) -> Option<CardId> {
        self.cards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(index)
            .copied()
            .flatten()
    }

    fn set_card_id(&self, index: usize, id: CardId) {
        if let Some(slot) = self
            .cards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(index)
        {
            *slot = Some(id);
        }
    }
}

// ---- language ----------------------------------------------------------------

/// The page's language: Persian (right to left, Persian digits) or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Fa,
    En,
}

impl Lang {
    /// `fa` text in Persian, `en` in English.
    fn t<'a>(self, fa: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fa => fa,
            Lang::En => en,
        }
    }

    /// Digits as this language writes them.
    fn digits(self, s: &str) -> String {
        match self {
            Lang::Fa => text::to_persian_digits(s),
            Lang::En => s.to_owned(),
        }
    }

    fn number(self, n: impl ToString) -> String {
        self.digits(&n.to_string())
    }

    fn rials(self, n: u64) -> String {
        text::group_thousands(n, self == Lang::Fa)
    }

    /// The query string that keeps this language on a link or form action.
    fn query(self) -> &'static str {
        self.t("", "?lang=en")
    }
}

#[derive(Deserialize, Default)]
pub(super) struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

fn lang(query: Result<Query<LangQuery>, QueryRejection>) -> Lang {
    match query {
        Ok(Query(q)) if q.lang.as_deref() == Some("en") => Lang::En,
        _ => Lang::Fa,
    }
}

// ---- HTML ----------------------------------------------------------------------

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#f3f5f8;color:#1a1a1a;font:16px/1.7 Vazirmatn,"Noto Sans Arabic","Noto Naskh Arabic",Tahoma,"Noto Sans","DejaVu Sans",sans-serif}
html[lang=en] body{font-family:"Noto Sans","DejaVu Sans",system-ui,sans-serif}
header{background:#0b3d6e;color:#fff;padding:.6rem 1.2rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between}
header a{color:#fff}
header .brand{font-weight:bold;font-size:1.1rem}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
main{max-width:46rem;margin:1.5rem auto;background:#fff;padding:1.2rem 1.6rem;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.5rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:1.4rem 0 .6rem}
a{color:#0b4f8a}
label{display:block;font-weight:bold;margin:.8rem 0 .2rem}
fieldset{border:1px solid #9aa5b1;border-radius:.4rem;margin:.8rem 0;padding:.4rem 1rem .8rem}
legend{font-weight:bold;padding:0 .3rem}
fieldset label{font-weight:normal}
.choice{display:flex;gap:.5rem;align-items:center;margin:.4rem 0}
.choice label{margin:0}
.row{display:flex;flex-wrap:wrap;gap:1rem}
.row>div{flex:1 1 8rem}
input[type=text],input[type=password],textarea{width:100%;padding:.45rem .6rem;border:1px solid #6b7785;border-radius:.3rem;font:inherit;background:#fff;color:#1a1a1a}
input:focus,textarea:focus,button:focus,a:focus{outline:3px solid #f0a500;outline-offset:1px}
textarea{font-family:"DejaVu Sans Mono",monospace;font-size:.8rem;direction:ltr;text-align:left}
.ltr{direction:ltr;unicode-bidi:isolate}
.pin{display:flex;gap:.6rem;align-items:stretch}
.pin input{flex:1}
button{font:inherit;padding:.45rem 1.1rem;border-radius:.3rem;border:1px solid #0b3d6e;background:#0b3d6e;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b3d6e}
button:disabled{background:#e4e7eb;color:#4a5460;border-color:#9aa5b1;cursor:default}
.actions{margin-top:1.2rem;display:flex;gap:.8rem;flex-wrap:wrap}
.note{background:#eef3f9;border-inline-start:4px solid #0b4f8a;padding:.5rem .9rem;margin:.8rem 0}
.result{padding:.7rem 1rem;border-radius:.3rem;margin:.8rem 0;font-weight:bold}
.result.ok{background:#e6f4ea;color:#0a5c2b;border:1px solid #0a5c2b}
.result.bad{background:#fdecea;color:#8a1111;border:1px solid #8a1111}
.qr{display:flex;justify-content:center;margin:.6rem 0}
.qr svg{width:15rem;height:15rem}
.cards dt{font-weight:bold}
.cards dd{margin:0 0 .5rem}
.sms{list-style:none;border:1px solid #c4ccd5;border-radius:.4rem;padding:.5rem .9rem;margin:.6rem 0}
.sms .meta{color:#3d4750;font-size:.9rem;margin:0}
.sms .text{white-space:pre-line;margin:.3rem 0 0}
.inbox{padding:0}
footer{text-align:center;color:#3d4750;font-size:.85rem;margin:0 0 1.5rem}
.hidden{display:none}
"#;

/// The script: the countdown of the SMS button and the payload's copy
/// button. Everything works without it.
const SCRIPT: &str = r#"
(function () {
  var fa = document.documentElement.lang === 'fa';
  function digits(n) {
    var s = String(n);
    return fa ? s.replace(/[0-9]/g, function (d) { return '۰۱۲۳۴۵۶۷۸۹'.charAt(+d); }) : s;
  }
  var copy = document.getElementById('copy');
  var payload = document.getElementById('payload');
  if (copy && payload) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      payload.select();
      var done = function () { copy.textContent = copy.getAttribute('data-done'); };
      if (navigator.clipboard) {
        navigator.clipboard.writeText(payload.value).then(done, function () { document.execCommand('copy'); done(); });
      } else {
        document.execCommand('copy');
        done();
      }
    });
  }
  var button = document.getElementById('request-sms');
  if (button && button.hasAttribute('data-expires-in')) {
    var total = Number(button.getAttribute('data-expires-in'));
    var template = button.getAttribute('data-countdown');
    var label = button.textContent;
    var start = Date.now();
    var timer = null;
    var tick = function () {
      var left = Math.ceil(total - (Date.now() - start) / 1000);
      if (left > 0) {
        button.disabled = true;
        button.textContent = template.replace('{n}', digits(left));
      } else {
        button.disabled = false;
        button.textContent = label;
        if (timer !== null) { clearInterval(timer); }
      }
    };
    tick();
    timer = setInterval(tick, 250);
  }
})();
"#;

/// Which page a layout is for (the navigation marks it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Activate,
    Pay,
    Inbox,
}

impl Page {
    fn path(self) -> &'static str {
        match self {
            Page::Activate => "/bank/activate",
            Page::Pay => "/pay",
            Page::Inbox => "/dev/inbox",
        }
    }
}

/// A whole page: header with navigation and the language toggle, `body` in
/// `<main>`, the script.
fn layout(lang: Lang, page: Page, title: &str, body: &str, status: StatusCode) -> Response {
    let (html_lang, dir) = match lang {
        Lang::Fa => ("fa", "rtl"),
        Lang::En => ("en", "ltr"),
    };
    let toggle = match lang {
        Lang::Fa => format!(
            r#"<a href="{}?lang=en" lang="en" hreflang="en">English</a>"#,
            page.path()
        ),
        Lang::En => format!(
            r#"<a href="{}" lang="fa" hreflang="fa">فارسی</a>"#,
            page.path()
        ),
    };
    let mut nav = String::new();
    for (p, fa, en) in [
        (Page::Activate, "اینترنت‌بانک", "Internet banking"),
        (Page::Pay, "درگاه پرداخت", "Payment gateway"),
        (Page::Inbox, "پیامک‌ها (توسعه)", "SMS inbox (development)"),
    ] {
        let current = if p == page {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(
            nav,
            r#"<li><a href="{}{}"{current}>{}</a></li>"#,
            p.path(),
            lang.query(),
            lang.t(fa, en)
        );
    }
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="{html_lang}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — dynpin</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<span class="brand">{brand}</span>
<nav aria-label="{nav_label}"><ul>{nav}</ul></nav>
{toggle}
</header>
<main>
{body}
</main>
<footer><p>{footer}</p></footer>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        title = esc(title),
        brand = lang.t("بانک نمونه", "Demo bank"),
        nav_label = lang.t("صفحه‌ها", "Pages"),
        footer = lang.t(
            "نمایش حالت توسعهٔ dynpin-bank — بانک و کارت‌ها نمونه‌اند.",
            "dynpin-bank development mode demonstration — the bank and the cards are demos."
        ),
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// A result box: `kind` is a stable word for scripts (`data-result`).
fn result_box(ok: bool, kind: &str, message: &str) -> String {
    format!(
        r#"<p class="result {}" role="{}" data-result="{}">{}</p>"#,
        if ok { "ok" } else { "bad" },
        if ok { "status" } else { "alert" },
        esc(kind),
        esc(message)
    )
}

// ---- cards -----------------------------------------------------------------------

fn bank_name(lang: Lang, number: &str) -> String {
    let bin = number
        .get(..6)
        .and_then(|b| b.parse::<u32>().ok())
        .unwrap_or(0);
    match Bank::from_bin(bin) {
        Some(bank) => lang.t(bank.persian_name(), bank.name()).to_owned(),
        None => lang.t("بانک", "Bank").to_owned(),
    }
}

/// `6104337182611234` → `6104-33**-****-1234`, in the language's digits,
/// isolated left to right.
fn masked(lang: Lang, number: &str) -> String {
    let head = number.get(..4).unwrap_or_default();
    let bin_tail = number.get(4..6).unwrap_or_default();
    let last = number
        .get(number.len().saturating_sub(4)..)
        .unwrap_or_default();
    format!(
        r#"<span class="ltr" dir="ltr">{}</span>"#,
        lang.digits(&format!("{head}-{bin_tail}**-****-{last}"))
    )
}

/// `6104337182611234` → `6104-3371-8261-1234`.
fn grouped(lang: Lang, number: &str) -> String {
    lang.digits(&text::group_digits(number, 4).replace(' ', "-"))
}

fn demo_card(index: usize) -> Option<&'static DemoCard> {
    DEMO_CARDS.get(index)
}

/// The demo card with this number (typed in any digits, spaces and dashes allowed).
fn find_card(typed: &str) -> Option<(usize, &'static DemoCard)> {
    let digits = text::normalize_digits(typed, 19).ok()?;
    DEMO_CARDS
        .iter()
        .enumerate()
        .find(|(_, c)| c.number == digits.as_str())
}

/// Tehran's wall-clock time (UTC+03:30) of a Unix time, `HH:MM:SS`.
fn tehran_time(lang: Lang, unix: u64) -> String {
    let s = (unix + 12_600) % 86_400;
    lang.digits(&format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60))
}

// ---- internet banking: activation ---------------------------------------------

#[derive(Deserialize)]
pub(super) struct ActivateForm {
    #[serde(default)]
    step: String,
    #[serde(default)]
    card: String,
    #[serde(default)]
    code: String,
}

/// `GET /bank/activate`: the customer's cards, to pick one.
pub(super) async fn activate_page<S: Store>(
    State(app): State<Arc<App<S>>>,
    query: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let lang = lang(query);
    card_list(&app, lang, "", StatusCode::OK).await
}

async fn card_list<S: Store>(
    app: &App<S>,
    lang: Lang,
    notice: &str,
    status: StatusCode,
) -> Response {
    let Some(pages) = &app.pages else {
        return not_found();
    };
    let mut items = String::new();
    for (i, card) in DEMO_CARDS.iter().enumerate() {
        let state = match pages.card_id(i) {
            Some(id) => app.store.state(id).await.ok().flatten().map(|s| s.status),
            None => None,
        };
        let state = match state {
            Some(CardStatus::Active) => lang.t("رمز پویا: فعال", "dynamic PIN: active"),
            Some(CardStatus::Pending) => lang.t(
                "رمز پویا: در انتظار تأیید",
                "dynamic PIN: awaiting confirmation",
            ),
            Some(CardStatus::Suspended) => lang.t("رمز پویا: معلق", "dynamic PIN: suspended"),
            None => lang.t("رمز پویا: فعال نشده", "dynamic PIN: not activated"),
        };
        let _ = write!(
            items,
            r#"<div class="choice"><input type="radio" name="card" id="card-{i}" value="{i}"{checked} required><label for="card-{i}">{bank} {masked} — <span class="state">{state}</span></label></div>"#,
            checked = if i == 0 { " checked" } else { "" },
            bank = esc(&bank_name(lang, card.number)),
            masked = masked(lang, card.number),
        );
    }
    let body = format!(
        r#"<h1>{title}</h1>
{notice}
<p>{customer}: <strong>{name}</strong> — {mobile}: <span class="ltr" dir="ltr">{phone}</span></p>
<p>{intro}</p>
<form method="post" action="/bank/activate{q}">
<input type="hidden" name="step" value="provision">
<fieldset><legend>{choose}</legend>
{items}
</fieldset>
<div class="actions"><button type="submit">{show_qr}</button></div>
</form>"#,
        title = lang.t("فعال‌سازی رمز دوم پویا", "Activate the dynamic second PIN"),
        customer = lang.t("مشتری", "Customer"),
        name = lang.t("سارا رضایی (نمونه)", "Sara Rezaei (demo)"),
        mobile = lang.t("همراه ثبت‌شده", "registered mobile"),
        phone = lang.digits(&api::mask_phone(DEMO_PHONE)),
        intro = lang.t(
            "کارتی را انتخاب کنید تا کد QR آن را با برنامهٔ رمز پویا اسکن کنید. کد فعال‌سازی به شمارهٔ همراه ثبت‌شده پیامک می‌شود.",
            "Choose a card and scan its QR code with the dynamic PIN app. The activation code is sent by SMS to the registered mobile number."
        ),
        q = lang.query(),
        choose = lang.t("کارت", "Card"),
        show_qr = lang.t("نمایش کد QR", "Show the QR code"),
    );
    layout(
        lang,
        Page::Activate,
        lang.t("فعال‌سازی رمز دوم پویا", "Activate the dynamic second PIN"),
        &body,
        status,
    )
}

/// `POST /bank/activate`: `step=provision` shows the chosen card's QR code
/// and sends the activation code; `step=confirm` checks the confirmation code.
pub(super) async fn activate_submit<S: Store>(
    State(app): State<Arc<App<S>>>,
    query: Result<Query<LangQuery>, QueryRejection>,
    form: Result<Form<ActivateForm>, FormRejection>,
) -> Response {
    let lang = lang(query);
    let Some(pages) = &app.pages else {
        return not_found();
    };
    let Ok(Form(form)) = form else {
        return bad_form(&app, lang, Page::Activate).await;
    };
    let chosen = form
        .card
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|i| demo_card(i).map(|c| (i, c)));
    let Some((index, card)) = chosen else {
        let notice = result_box(
            false,
            "invalid",
            lang.t("کارتی انتخاب کنید.", "Choose a card."),
        );
        return card_list(&app, lang, &notice, StatusCode::BAD_REQUEST).await;
    };
    match form.step.as_str() {
        "provision" => provision(&app, pages, lang, index, card).await,
        "confirm" => confirm(&app, pages, lang, index, card, &form.code).await,
        _ => {
            let notice = result_box(
                false,
                "invalid",
                lang.t("درخواست نامعتبر.", "Invalid request."),
            );
            card_list(&app, lang, &notice, StatusCode::BAD_REQUEST).await
        }
    }
}

async fn provision<S: Store>(
    app: &App<S>,
    pages: &Pages,
    lang: Lang,
    index: usize,
    card: &DemoCard,
) -> Response {
    let provisioned = match CardNumber::parse(card.number) {
        Ok(number) => {
            let input = ProvisionInput {
                card_ref: CardRef::of(&number),
                label: None,
                phone: Some(DEMO_PHONE.to_owned()),
                channel: Channel::Qr,
                pins: Pins::Both,
            };
            api::provision_card(app, ACTOR, input).await
        }
        Err(e) => Err(ApiError::invalid(e.to_string())),
    };
    let provisioned = match provisioned {
        Ok(p) => p,
        Err(e) => {
            let notice = result_box(false, "unavailable", &api_error_text(lang, &e));
            return card_list(app, lang, &notice, e.status).await;
        }
    };
    if let Some(id) = CardId::parse(&provisioned.card_id) {
        pages.set_card_id(index, id);
    }
    let svg = provisioned
        .qr_svg
        .as_deref()
        .and_then(|svg| svg.find("<svg").and_then(|at| svg.get(at + 4..)))
        .map(|rest| {
            format!(
                r#"<svg role="img" aria-label="{}"{rest}"#,
                lang.t("کد QR فعال‌سازی", "The activation QR code")
            )
        })
        .unwrap_or_default();
    let minutes = app.verifier.config().confirmation_seconds / 60;
    let body = format!(
        r#"<h1>{title}</h1>
<p>{bank} {masked}</p>
<h2>{step1}</h2>
<div class="qr">{svg}</div>
<label for="payload">{payload_label}</label>
<textarea id="payload" rows="4" readonly>{payload}</textarea>
<div class="actions"><button type="button" id="copy" class="secondary" data-done="{copied}" hidden>{copy}</button></div>
<p class="note" role="status" data-sent-to="{sent_to_ascii}">{sent}</p>
<h2>{step2}</h2>
{confirm_form}"#,
        title = lang.t("فعال‌سازی رمز دوم پویا", "Activate the dynamic second PIN"),
        bank = esc(&bank_name(lang, card.number)),
        masked = masked(lang, card.number),
        step1 = lang.t(
            "۱. کد QR را با برنامهٔ رمز پویا اسکن کنید",
            "1. Scan the QR code with the dynamic PIN app"
        ),
        payload_label = lang.t(
            "یا این متن را در برنامه وارد کنید",
            "or paste this text into the app"
        ),
        payload = esc(provisioned.payload.as_deref().unwrap_or_default()),
        copy = lang.t("رونوشت متن", "Copy the text"),
        copied = lang.t("رونوشت شد", "Copied"),
        sent_to_ascii = esc(provisioned
            .activation_code_sent_to
            .as_deref()
            .unwrap_or_default()),
        sent = match lang {
            Lang::Fa => format!(
                "کد فعال‌سازی به شمارهٔ <span class=\"ltr\" dir=\"ltr\">{}</span> پیامک شد. آن را در برنامه وارد کنید.",
                lang.digits(
                    provisioned
                        .activation_code_sent_to
                        .as_deref()
                        .unwrap_or_default()
                )
            ),
            Lang::En => format!(
                "The activation code was sent by SMS to <span class=\"ltr\" dir=\"ltr\">{}</span>. Type it into the app.",
                esc(provisioned
                    .activation_code_sent_to
                    .as_deref()
                    .unwrap_or_default())
            ),
        },
        step2 = match lang {
            Lang::Fa => format!(
                "۲. کد تأیید ۶ رقمی برنامه را تا {} دقیقه وارد کنید",
                lang.number(minutes)
            ),
            Lang::En => format!(
                "2. Type the 6-digit confirmation code the app shows, within {minutes} minutes"
            ),
        },
        confirm_form = confirm_form(lang, index),
    );
    layout(
        lang,
        Page::Activate,
        lang.t("فعال‌سازی رمز دوم پویا", "Activate the dynamic second PIN"),
        &body,
        StatusCode::OK,
    )
}

fn confirm_form(lang: Lang, index: usize) -> String {
    format!(
        r#"<form method="post" action="/bank/activate{q}">
<input type="hidden" name="step" value="confirm">
<input type="hidden" name="card" value="{index}">
<label for="code">{label}</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" dir="ltr" required>
<div class="actions"><button type="submit">{confirm}</button></div>
</form>"#,
        q = lang.query(),
        label = lang.t("کد تأیید", "Confirmation code"),
        confirm = lang.t("تأیید", "Confirm"),
    )
}

async fn confirm<S: Store>(
    app: &App<S>,
    pages: &Pages,
    lang: Lang,
    index: usize,
    card: &DemoCard,
    typed: &str,
) -> Response {
    let title = lang.t("فعال‌سازی رمز دوم پویا", "Activate the dynamic second PIN");
    let Some(id) = pages.card_id(index) else {
        let notice = result_box(
            false,
            "not_provisioned",
            lang.t(
                "ابتدا کد QR این کارت را نمایش دهید.",
                "Show this card's QR code first.",
            ),
        );
        return card_list(app, lang, &notice, StatusCode::CONFLICT).await;
    };
    let head = format!(
        "<h1>{title}</h1>\n<p>{} {}</p>\n",
        esc(&bank_name(lang, card.number)),
        masked(lang, card.number)
    );
    let again = format!(
        r#"<p><a href="/bank/activate{}">{}</a></p>"#,
        lang.query(),
        lang.t("فعال‌سازی دوباره", "Activate again")
    );
    let (status, body) = match app.verifier.confirm(id, typed, &app.clock).await {
        Ok(()) => (
            StatusCode::OK,
            format!(
                r#"{head}{}<p>{}</p><p><a href="/pay{}">{}</a></p>"#,
                result_box(
                    true,
                    "confirmed",
                    lang.t(
                        "رمز دوم پویای این کارت فعال شد.",
                        "This card's dynamic second PIN is active."
                    )
                ),
                lang.t(
                    "از این پس برای پرداخت اینترنتی، رمز دوم را از برنامه بخوانید یا رمز پیامکی بخواهید.",
                    "From now on, read the second PIN for online payments from the app, or request one by SMS."
                ),
                lang.query(),
                lang.t("رفتن به درگاه پرداخت", "Go to the payment gateway"),
            ),
        ),
        Err(VerifyError::WrongConfirmation { remaining_attempts }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{head}{}{}",
                result_box(
                    false,
                    "wrong",
                    &match lang {
                        Lang::Fa => format!(
                            "کد تأیید نادرست است؛ {} بار دیگر می‌توانید تلاش کنید.",
                            lang.number(remaining_attempts)
                        ),
                        Lang::En => format!(
                            "Wrong confirmation code; {remaining_attempts} attempts left."
                        ),
                    }
                ),
                confirm_form(lang, index)
            ),
        ),
        Err(VerifyError::Malformed(_)) => (
            StatusCode::BAD_REQUEST,
            format!(
                "{head}{}{}",
                result_box(
                    false,
                    "invalid",
                    lang.t(
                        "کد تأیید ۶ رقم است (این تلاش شمرده نشد).",
                        "The confirmation code has 6 digits (this attempt was not counted)."
                    )
                ),
                confirm_form(lang, index)
            ),
        ),
        Err(VerifyError::ConfirmationExpired) => (
            StatusCode::GONE,
            format!(
                "{head}{}{again}",
                result_box(
                    false,
                    "expired",
                    lang.t(
                        "مهلت تأیید این فعال‌سازی گذشته است؛ کارت را دوباره فعال کنید.",
                        "This activation can no longer be confirmed; activate the card again."
                    )
                )
            ),
        ),
        Err(VerifyError::CloneSuspected) => (
            StatusCode::CONFLICT,
            format!(
                "{head}{}",
                result_box(
                    false,
                    "clone_suspected",
                    lang.t(
                        "این فعال‌سازی پیش‌تر تأیید شده بود: ممکن است روی گوشی دیگری هم فعال شده باشد. رمز پویای کارت معلق شد؛ با بانک تماس بگیرید.",
                        "This activation was already confirmed: it may have been activated on another phone too. The card's dynamic PIN is suspended; call the bank."
                    )
                )
            ),
        ),
        Err(VerifyError::Suspended) => (
            StatusCode::CONFLICT,
            format!(
                "{head}{}",
                result_box(
                    false,
                    "suspended",
                    lang.t(
                        "رمز پویای این کارت معلق است؛ با بانک تماس بگیرید.",
                        "This card's dynamic PIN is suspended; call the bank."
                    )
                )
            ),
        ),
        Err(VerifyError::Locked) => (
            StatusCode::LOCKED,
            format!(
                "{head}{}{again}",
                result_box(
                    false,
                    "locked",
                    lang.t(
                        "کد تأیید بیش از حد نادرست وارد شد؛ کارت را دوباره فعال کنید.",
                        "Too many wrong confirmation codes; activate the card again."
                    )
                )
            ),
        ),
        Err(VerifyError::UnknownCard) => (
            StatusCode::NOT_FOUND,
            format!(
                "{head}{}{again}",
                result_box(
                    false,
                    "unknown",
                    lang.t(
                        "این فعال‌سازی پیدا نشد؛ کارت را دوباره فعال کنید.",
                        "This activation was not found; activate the card again."
                    )
                )
            ),
        ),
        Err(e) => {
            let e = ApiError::from(e);
            (
                e.status,
                format!(
                    "{head}{}{}",
                    result_box(false, "unavailable", &api_error_text(lang, &e)),
                    confirm_form(lang, index)
                ),
            )
        }
    };
    layout(lang, Page::Activate, title, &body, status)
}

// ---- the payment gateway ----------------------------------------------------------

#[derive(Deserialize, Default)]
pub(super) struct PayForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    tx: String,
    #[serde(default)]
    card: String,
    #[serde(default)]
    cvv2: String,
    #[serde(default)]
    exp_month: String,
    #[serde(default)]
    exp_year: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    pin: String,
}

/// A fresh transaction id for the gateway's form.
fn new_transaction_id() -> String {
    let mut bytes = [0u8; 10];
    if dynpin::secret::fill_random(&mut bytes).is_err() {
        // The id need not be secret, only unique per payment.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("T{now}");
    }
    let mut id = String::from("T");
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    id
}

/// `GET /pay`: an empty payment form with a new transaction.
pub(super) async fn pay_page<S: Store>(
    State(app): State<Arc<App<S>>>,
    query: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let lang = lang(query);
    if app.pages.is_none() {
        return not_found();
    }
    let form = PayForm {
        tx: new_transaction_id(),
        amount: "1250000".into(),
        merchant: lang.t("دیجی‌کالا", "Digikala").into(),
        ..PayForm::default()
    };
    pay_layout(&app, lang, &form, "", None, StatusCode::OK)
}

/// The payment form, with `notice` above it; `countdown` is the seconds the
/// SMS code just sent is valid (the button waits that long).
fn pay_layout<S: Store>(
    app: &App<S>,
    lang: Lang,
    form: &PayForm,
    notice: &str,
    countdown: Option<u64>,
    status: StatusCode,
) -> Response {
    let title = lang.t("درگاه پرداخت اینترنتی", "Internet payment gateway");
    let amount = text::parse_number(&form.amount).ok();
    let summary = match amount {
        Some(a) if !form.merchant.trim().is_empty() => match lang {
            Lang::Fa => format!(
                "<p class=\"note\">پرداخت <strong>{} ریال</strong> به <strong>{}</strong></p>",
                lang.rials(a),
                esc(form.merchant.trim())
            ),
            Lang::En => format!(
                "<p class=\"note\">Paying <strong>{} rials</strong> to <strong>{}</strong></p>",
                lang.rials(a),
                esc(form.merchant.trim())
            ),
        },
        _ => String::new(),
    };
    let sms_attrs = countdown.map_or(String::new(), |left| {
        format!(
            r#" data-expires-in="{left}" data-countdown="{}""#,
            lang.t("{n} ثانیه تا درخواست دوباره", "new code in {n} s")
        )
    });
    let sms_digits = app.sms.config().digits;
    let mut demo = String::new();
    for card in &DEMO_CARDS {
        let _ = write!(
            demo,
            r#"<dt>{}</dt><dd><span class="ltr" dir="ltr">{}</span> — CVV2 <span class="ltr" dir="ltr">{}</span> — {} <span class="ltr" dir="ltr">{}</span></dd>"#,
            esc(&bank_name(lang, card.number)),
            grouped(lang, card.number),
            lang.digits(card.cvv2),
            lang.t("انقضا", "expires"),
            lang.digits(&format!("{:02}/{:02}", card.exp_month, card.exp_year)),
        );
    }
    let body = format!(
        r#"<h1>{title}</h1>
{notice}
{summary}
<form method="post" action="/pay{q}">
<button type="submit" name="action" value="pay" class="hidden" tabindex="-1">{pay}</button>
<input type="hidden" name="tx" value="{tx}">
<div class="row">
<div><label for="amount">{amount_label}</label><input type="text" id="amount" name="amount" value="{amount}" inputmode="numeric" required></div>
<div><label for="merchant">{merchant_label}</label><input type="text" id="merchant" name="merchant" value="{merchant}" required></div>
</div>
<label for="card">{card_label}</label>
<input type="text" id="card" name="card" value="{card}" inputmode="numeric" autocomplete="cc-number" dir="ltr" required>
<div class="row">
<div><label for="cvv2">CVV2</label><input type="password" id="cvv2" name="cvv2" inputmode="numeric" autocomplete="cc-csc" dir="ltr" required></div>
<div><fieldset><legend>{expiry}</legend><div class="row">
<div><label for="exp_month">{month}</label><input type="text" id="exp_month" name="exp_month" value="{exp_month}" inputmode="numeric" autocomplete="cc-exp-month" dir="ltr" required></div>
<div><label for="exp_year">{year}</label><input type="text" id="exp_year" name="exp_year" value="{exp_year}" inputmode="numeric" autocomplete="cc-exp-year" dir="ltr" required></div>
</div></fieldset></div>
</div>
<label for="pin">{pin_label}</label>
<p id="pin-help">{pin_help}</p>
<div class="pin">
<input type="password" id="pin" name="pin" inputmode="numeric" autocomplete="one-time-code" dir="ltr" aria-describedby="pin-help">
<button type="submit" id="request-sms" name="action" value="sms" class="secondary" formnovalidate{sms_attrs}>{request}</button>
</div>
<div class="actions"><button type="submit" id="pay" name="action" value="pay">{pay}</button></div>
</form>
<details><summary>{demo_title}</summary><dl class="cards">{demo}</dl></details>"#,
        q = lang.query(),
        tx = esc(&form.tx),
        amount_label = lang.t("مبلغ (ریال)", "Amount (rials)"),
        amount = esc(&form.amount),
        merchant_label = lang.t("پذیرنده", "Merchant"),
        merchant = esc(&form.merchant),
        card_label = lang.t("شماره کارت", "Card number"),
        card = esc(&form.card),
        expiry = lang.t("تاریخ انقضا", "Expiry date"),
        month = lang.t("ماه", "Month"),
        exp_month = esc(&form.exp_month),
        year = lang.t("سال", "Year"),
        exp_year = esc(&form.exp_year),
        pin_label = lang.t("رمز دوم (رمز پویا)", "Second PIN (dynamic PIN)"),
        pin_help = match lang {
            Lang::Fa => format!(
                "رمز {} رقمی پیامک‌شده، یا رمز ۸ رقمی برنامهٔ رمز پویا (رمز دوم یا رمز مخصوص این مبلغ).",
                lang.number(sms_digits)
            ),
            Lang::En => format!(
                "The {sms_digits}-digit code sent by SMS, or the 8-digit PIN from the dynamic PIN app (the second PIN, or the one for this amount)."
            ),
        },
        request = lang.t("درخواست رمز پویا", "Request a dynamic PIN"),
        pay = lang.t("پرداخت", "Pay"),
        demo_title = lang.t(
            "کارت‌های نمونه (فقط حالت توسعه)",
            "Demo cards (development mode only)"
        ),
    );
    layout(lang, Page::Pay, title, &body, status)
}

/// `POST /pay`: `action=sms` sends a code for the transaction; `action=pay`
/// checks the card details and the second PIN.
pub(super) async fn pay_submit<S: Store>(
    State(app): State<Arc<App<S>>>,
    query: Result<Query<LangQuery>, QueryRejection>,
    form: Result<Form<PayForm>, FormRejection>,
) -> Response {
    let lang = lang(query);
    let Some(pages) = &app.pages else {
        return not_found();
    };
    let Ok(Form(mut form)) = form else {
        return bad_form(&app, lang, Page::Pay).await;
    };
    if form.tx.is_empty() || form.tx.len() > 64 {
        form.tx = new_transaction_id();
    }
    // The second PIN and CVV2 are never rendered back.
    let pin = std::mem::take(&mut form.pin);
    let cvv2 = std::mem::take(&mut form.cvv2);
    let fail = |form: &PayForm, kind: &str, message: &str, status: StatusCode| {
        pay_layout(
            &app,
            lang,
            form,
            &result_box(false, kind, message),
            None,
            status,
        )
    };
    let Some((index, card)) = find_card(&form.card) else {
        return fail(
            &form,
            "unknown_card",
            lang.t(
                "شماره کارت شناخته نشد (کارت‌های نمونه در پایین صفحه‌اند).",
                "Card number not recognised (the demo cards are listed below the form).",
            ),
            StatusCode::BAD_REQUEST,
        );
    };
    let amount = match text::parse_number(&form.amount) {
        Ok(a) if a > 0 => a,
        _ => {
            return fail(
                &form,
                "invalid",
                lang.t("مبلغ را به ریال وارد کنید.", "Enter the amount in rials."),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let merchant = form.merchant.trim().to_owned();
    let tx = match api::transaction(form.tx.clone(), amount, merchant.clone()) {
        Ok(tx) => tx,
        Err(_) => {
            return fail(
                &form,
                "invalid",
                lang.t("نام پذیرنده را وارد کنید.", "Enter the merchant's name."),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let Some(id) = pages.card_id(index) else {
        return fail(
            &form,
            "not_activated",
            lang.t(
                "رمز پویای این کارت فعال نشده است؛ آن را در اینترنت‌بانک فعال کنید.",
                "This card's dynamic PIN is not activated; activate it in internet banking.",
            ),
            StatusCode::CONFLICT,
        );
    };
    if form.action == "sms" {
        return match api::send_sms_code(&app, id, &tx).await {
            Ok(sent) => {
                let left = sent.expires_at.saturating_sub(app.now());
                let notice = format!(
                    r#"<p class="note" role="status" data-result="sms_sent" data-expires-at="{}">{}</p>"#,
                    sent.expires_at,
                    match lang {
                        Lang::Fa => format!(
                            "رمز پویا به شمارهٔ <span class=\"ltr\" dir=\"ltr\">{}</span> پیامک شد؛ تا ساعت {} (به وقت تهران) معتبر است.",
                            lang.digits(&sent.sent_to),
                            tehran_time(lang, sent.expires_at)
                        ),
                        Lang::En => format!(
                            "A dynamic PIN was sent by SMS to <span class=\"ltr\" dir=\"ltr\">{}</span>; valid until {} (Tehran time).",
                            esc(&sent.sent_to),
                            tehran_time(lang, sent.expires_at)
                        ),
                    }
                );
                pay_layout(&app, lang, &form, &notice, Some(left), StatusCode::OK)
            }
            Err(e) => {
                let (kind, message) = match e.code {
                    "rate_limited" => (
                        "rate_limited",
                        match lang {
                            Lang::Fa => format!(
                                "درخواست‌های رمز پیامکی زیاد بود؛ {} ثانیهٔ دیگر دوباره بخواهید.",
                                lang.number(e.retry_after_seconds.unwrap_or(60))
                            ),
                            Lang::En => format!(
                                "Too many SMS codes requested; try again in {} s.",
                                e.retry_after_seconds.unwrap_or(60)
                            ),
                        },
                    ),
                    _ => ("unavailable", api_error_text(lang, &e)),
                };
                fail(&form, kind, &message, e.status)
            }
        };
    }
    // Paying: the card's details first (a demonstration: not counted).
    let cvv2_ok = text::normalize_digits(&cvv2, 4).is_ok_and(|d| d.as_str() == card.cvv2);
    let month_ok =
        text::parse_number(&form.exp_month).is_ok_and(|m| m == u64::from(card.exp_month));
    let year_ok =
        text::parse_number(&form.exp_year).is_ok_and(|y| y % 100 == u64::from(card.exp_year));
    if !(cvv2_ok && month_ok && year_ok) {
        return fail(
            &form,
            "card_details",
            lang.t(
                "CVV2 یا تاریخ انقضا با کارت نمی‌خواند.",
                "The CVV2 or the expiry date does not match the card.",
            ),
            StatusCode::BAD_REQUEST,
        );
    }
    let outcome = check_second_pin(&app, id, &tx, &pin).await;
    let status = outcome.status();
    if let Outcome::Paid(how) = outcome {
        let body = format!(
            r#"<h1>{}</h1>{}<dl class="cards"><dt>{}</dt><dd>{} {}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class="ltr" dir="ltr">{}</dd></dl><p><a href="/pay{}">{}</a></p>"#,
            lang.t("درگاه پرداخت اینترنتی", "Internet payment gateway"),
            result_box(true, "paid", lang.t("پرداخت انجام شد.", "Payment made.")),
            lang.t("کارت", "Card"),
            esc(&bank_name(lang, card.number)),
            masked(lang, card.number),
            lang.t("مبلغ", "Amount"),
            match lang {
                Lang::Fa => format!("{} ریال به {}", lang.rials(amount), esc(&merchant)),
                Lang::En => format!("{} rials to {}", lang.rials(amount), esc(&merchant)),
            },
            lang.t("با", "With"),
            match how {
                Paid::Sms => lang.t("رمز پیامکی", "the SMS code"),
                Paid::SecondPin => lang.t("رمز دوم پویای برنامه", "the app's dynamic second PIN"),
                Paid::AmountBound => lang.t(
                    "رمز پویای مخصوص این مبلغ و پذیرنده",
                    "the app's PIN for this amount and merchant"
                ),
            },
            lang.t("شمارهٔ تراکنش", "Transaction"),
            esc(&tx.id),
            lang.query(),
            lang.t("پرداخت دیگر", "Another payment"),
        );
        return layout(
            lang,
            Page::Pay,
            lang.t("درگاه پرداخت اینترنتی", "Internet payment gateway"),
            &body,
            status,
        );
    }
    let (kind, message) = outcome.describe(lang);
    fail(&form, kind, &message, status)
}

/// How a payment was authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paid {
    Sms,
    SecondPin,
    AmountBound,
}

/// What the second-PIN field's check decided.
#[derive(Debug)]
enum Outcome {
    Paid(Paid),
    /// Not a code of either length: not counted.
    Malformed,
    Wrong {
        remaining: u32,
        sms: bool,
    },
    AlreadyUsed,
    /// No SMS code is pending for the transaction: used, or never requested.
    NoPendingSms,
    Locked {
        sms: bool,
    },
    Expired,
    NotActivated,
    Suspended,
    Failed(ApiError),
}

impl Outcome {
    fn status(&self) -> StatusCode {
        match self {
            Outcome::Paid(_) => StatusCode::OK,
            Outcome::Malformed => StatusCode::BAD_REQUEST,
            Outcome::Wrong { .. } | Outcome::AlreadyUsed | Outcome::NoPendingSms => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Outcome::Locked { .. } => StatusCode::LOCKED,
            Outcome::Expired => StatusCode::GONE,
            Outcome::NotActivated | Outcome::Suspended => StatusCode::CONFLICT,
            Outcome::Failed(e) => e.status,
        }
    }

    /// The result's stable word and message.
    fn describe(&self, lang: Lang) -> (&'static str, String) {
        match self {
            Outcome::Paid(_) => ("paid", lang.t("پرداخت انجام شد.", "Payment made.").into()),
            Outcome::Malformed => (
                "invalid",
                lang.t(
                    "رمز پیامکی ۶ رقم و رمز پویای برنامه ۸ رقم است (این تلاش شمرده نشد).",
                    "The SMS code has 6 digits and the app's dynamic PIN 8 (this attempt was not counted).",
                )
                .into(),
            ),
            Outcome::Wrong { remaining, sms } => (
                "wrong",
                match (lang, sms) {
                    (Lang::Fa, true) => format!(
                        "رمز پیامکی نادرست است؛ {} بار دیگر می‌توانید تلاش کنید.",
                        lang.number(remaining)
                    ),
                    (Lang::Fa, false) => format!(
                        "رمز دوم نادرست است؛ {} بار دیگر می‌توانید تلاش کنید.",
                        lang.number(remaining)
                    ),
                    (Lang::En, true) => format!("Wrong SMS code; {remaining} attempts left."),
                    (Lang::En, false) => format!("Wrong second PIN; {remaining} attempts left."),
                },
            ),
            Outcome::AlreadyUsed => (
                "already_used",
                lang.t(
                    "این رمز پیش از این استفاده شده است؛ رمز تازه‌ای از برنامه بخوانید یا رمز پیامکی بخواهید.",
                    "This PIN was already used; read a new one from the app or request one by SMS.",
                )
                .into(),
            ),
            Outcome::NoPendingSms => (
                "already_used",
                lang.t(
                    "برای این پرداخت رمز پیامکی در انتظار نیست (پیش از این استفاده شده یا درخواست نشده است)؛ رمز تازه‌ای بخواهید.",
                    "No SMS code is pending for this payment (it was used already, or none was requested); request a new one.",
                )
                .into(),
            ),
            Outcome::Locked { sms: false } => (
                "locked",
                lang.t(
                    "رمز پویای این کارت پس از چند تلاش نادرست مسدود شد؛ با بانک تماس بگیرید.",
                    "This card's dynamic PIN is locked after too many wrong attempts; call the bank.",
                )
                .into(),
            ),
            Outcome::Locked { sms: true } => (
                "locked",
                lang.t(
                    "رمز پیامکی بیش از حد نادرست وارد شد و باطل شد؛ رمز تازه‌ای بخواهید.",
                    "Too many wrong entries: the SMS code is void; request a new one.",
                )
                .into(),
            ),
            Outcome::Expired => (
                "expired",
                lang.t(
                    "رمز پیامکی منقضی شده است؛ رمز تازه‌ای بخواهید.",
                    "The SMS code has expired; request a new one.",
                )
                .into(),
            ),
            Outcome::NotActivated => (
                "not_activated",
                lang.t(
                    "رمز پویای این کارت هنوز تأیید نشده است؛ فعال‌سازی را در اینترنت‌بانک کامل کنید.",
                    "This card's dynamic PIN is not confirmed yet; finish the activation in internet banking.",
                )
                .into(),
            ),
            Outcome::Suspended => (
                "suspended",
                lang.t(
                    "رمز پویای این کارت معلق است؛ با بانک تماس بگیرید.",
                    "This card's dynamic PIN is suspended; call the bank.",
                )
                .into(),
            ),
            Outcome::Failed(e) => ("unavailable", api_error_text(lang, e)),
        }
    }
}

impl From<VerifyError> for Outcome {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Malformed(_) => Outcome::Malformed,
            VerifyError::Rejected { remaining_attempts } => Outcome::Wrong {
                remaining: remaining_attempts,
                sms: false,
            },
            VerifyError::Replayed { .. } => Outcome::AlreadyUsed,
            VerifyError::Locked => Outcome::Locked { sms: false },
            VerifyError::NotConfirmed | VerifyError::UnknownCard => Outcome::NotActivated,
            VerifyError::Suspended => Outcome::Suspended,
            other => Outcome::Failed(ApiError::from(other)),
        }
    }
}

impl From<SmsError> for Outcome {
    fn from(e: SmsError) -> Self {
        match e {
            SmsError::Malformed(_) => Outcome::Malformed,
            SmsError::Wrong { remaining_attempts } => Outcome::Wrong {
                remaining: remaining_attempts,
                sms: true,
            },
            // Consumed by an accepted payment, or never requested for this one.
            SmsError::NoPendingCode => Outcome::NoPendingSms,
            SmsError::TooManyAttempts => Outcome::Locked { sms: true },
            SmsError::Expired => Outcome::Expired,
            SmsError::Suspended => Outcome::Suspended,
            other => Outcome::Failed(ApiError::from(other)),
        }
    }
}

/// The second-PIN field's rule (docs/verifier.md, "Pages"): one counted
/// check per entry, chosen by the code's length. A code with the SMS code's
/// digits is the transaction's SMS code. A code of 8 digits is a dynamic
/// PIN: the plain second PIN is looked up in the window without counting
/// (`find_step`); if it is one, it is verified (counted: accepted, or
/// already used), else it is verified as the amount-bound PIN for this
/// amount and merchant (counted: accepted, already used or wrong). Any other
/// length is a typing slip, not counted.
async fn check_second_pin<S: Store>(
    app: &App<S>,
    id: CardId,
    tx: &Transaction,
    typed: &str,
) -> Outcome {
    let Ok(digits) = text::normalize_digits(typed, 16) else {
        return Outcome::Malformed;
    };
    let sms_digits = usize::from(app.sms.config().digits);
    if digits.len() == sms_digits {
        return match app.sms.verify(id, tx, &digits).await {
            Ok(()) => Outcome::Paid(Paid::Sms),
            Err(e) => e.into(),
        };
    }
    if digits.len() != 8 {
        return Outcome::Malformed;
    }
    let plain = match app
        .verifier
        .find_step(id, PinKind::Second, &digits, app.now())
        .await
    {
        Ok(step) => step.is_some(),
        // A card whose second PIN is not 8 digits: only the amount-bound one can be.
        Err(VerifyError::Malformed(_) | VerifyError::NoSuchPin(_)) => false,
        Err(e) => return e.into(),
    };
    if plain {
        match app
            .verifier
            .verify(id, PinKind::Second, &digits, &app.clock)
            .await
        {
            Ok(_) => Outcome::Paid(Paid::SecondPin),
            Err(e) => e.into(),
        }
    } else {
        match app
            .verifier
            .verify_amount_bound(id, &digits, tx.amount_rials, &tx.merchant, &app.clock)
            .await
        {
            Ok(_) => Outcome::Paid(Paid::AmountBound),
            Err(VerifyError::Card(_)) => Outcome::Malformed,
            Err(e) => e.into(),
        }
    }
}

// ---- the development SMS inbox -------------------------------------------------

/// `GET /dev/inbox`: what the SMS gateway would have sent, newest first.
pub(super) async fn inbox<S: Store>(
    State(app): State<Arc<App<S>>>,
    query: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let lang = lang(query);
    let Some(outbox) = &app.outbox else {
        return not_found();
    };
    let messages = outbox.messages();
    let mut items = String::new();
    for m in messages.iter().rev() {
        let _ = write!(
            items,
            r#"<li class="sms"><p class="meta">{} — <span class="ltr" dir="ltr">{}</span></p><p class="text" dir="auto">{}</p></li>"#,
            tehran_time(lang, m.at),
            esc(&lang.digits(&m.phone)),
            esc(&m.text)
        );
    }
    if items.is_empty() {
        items = format!(
            "<li class=\"sms\"><p class=\"text\">{}</p></li>",
            lang.t("هنوز پیامکی فرستاده نشده است.", "No SMS sent yet.")
        );
    }
    let title = lang.t("صندوق پیامک (حالت توسعه)", "SMS inbox (development mode)");
    let body = format!(
        r#"<h1>{title}</h1>
<p>{intro} <a href="/dev/inbox{q}">{refresh}</a></p>
<ul class="inbox" aria-label="{list}">{items}</ul>"#,
        intro = lang.t(
            "پیامک‌هایی که درگاه پیامک می‌فرستاد، تازه‌ترین در بالا (زمان‌ها به وقت تهران).",
            "The messages the SMS gateway would have sent, newest first (times in Tehran time)."
        ),
        q = lang.query(),
        refresh = lang.t("تازه‌سازی", "Refresh"),
        list = lang.t("پیامک‌ها", "Messages"),
    );
    layout(lang, Page::Inbox, title, &body, StatusCode::OK)
}

// ---- errors ---------------------------------------------------------------------

fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

/// A form that did not parse (not form-encoded, too large).
async fn bad_form<S: Store>(app: &App<S>, lang: Lang, page: Page) -> Response {
    let notice = result_box(
        false,
        "invalid",
        lang.t("فرم نامعتبر بود.", "The form could not be read."),
    );
    match page {
        Page::Pay => {
            let form = PayForm {
                tx: new_transaction_id(),
                ..PayForm::default()
            };
            pay_layout(app, lang, &form, &notice, None, StatusCode::BAD_REQUEST)
        }
        _ => card_list(app, lang, &notice, StatusCode::BAD_REQUEST).await,
    }
}

/// A service error as the pages say it.
fn api_error_text(lang: Lang, e: &ApiError) -> String {
    match e.code {
        "unavailable" | "timeout" => lang
            .t(
                "سامانه اکنون پاسخ نمی‌دهد؛ چیزی پذیرفته نشد. کمی بعد دوباره تلاش کنید.",
                "The service cannot answer now; nothing was accepted. Try again shortly.",
            )
            .into(),
        "sms_not_sent" => lang
            .t(
                "پیامک فرستاده نشد؛ دوباره تلاش کنید.",
                "The SMS could not be sent; try again.",
            )
            .into(),
        _ => match lang {
            Lang::Fa => "درخواست انجام نشد.".into(),
            Lang::En => format!("The request failed: {}", e.message),
        },
    }
}
