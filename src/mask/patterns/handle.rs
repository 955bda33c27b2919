//! Handles for the pattern detector (`super`): `@name` as chat, social media and code review
//! write them ("@jenny_k and i", "RT @SportsCenter", "cc @bob.smith-99"), reported as
//! USERNAME with the `@`; a Mastodon-style `@name@server.social` is one handle. Not a handle:
//! an e-mail address (a letter or digit right before the `@`), a package scope (`@types/node`,
//! `@/components`), a version (`react@18`), a time (`@10:30`), and the `@` words of code:
//! decorators and annotations (`@property`, `@Override` on a line of its own, `@app.route(`),
//! CSS at-rules, doc-comment tags and template directives.

use super::entity;
use crate::mask::{Entity, Label};

/// Reported score: a handle is certain by shape, but not validated like a checksum.
const SCORE: f32 = 0.95;

/// Longest handle body (GitHub allows 39 characters, X 15, Instagram 30).
const MAX_LEN: usize = 39;

/// `@` words of code and markup, compared ASCII case-insensitively: CSS at-rules, JSDoc,
/// Javadoc and Doxygen tags, Razor, Blade and Vue directives, common decorators and
/// annotations, and group mentions that name nobody.
const CODE_WORDS: &[&str] = &[
    // CSS and preprocessors
    "media",
    "import",
    "font-face",
    "keyframes",
    "supports",
    "charset",
    "namespace",
    "page",
    "layer",
    "container",
    "property",
    "tailwind",
    "apply",
    "use",
    "forward",
    "mixin",
    "include",
    "extend",
    "function",
    "return",
    "each",
    "if",
    "else",
    "for",
    "while",
    "content",
    "debug",
    "warn",
    "error",
    "at-root",
    "screen",
    "variants",
    "theme",
    // doc comments
    "param",
    "params",
    "returns",
    "throws",
    "exception",
    "author",
    "since",
    "see",
    "deprecated",
    "type",
    "typedef",
    "example",
    "override",
    "link",
    "code",
    "inheritdoc",
    "todo",
    "fixme",
    "brief",
    "details",
    "file",
    "class",
    "private",
    "public",
    "protected",
    "async",
    "callback",
    "module",
    "template",
    "version",
    "license",
    "note",
    "internal",
    "abstract",
    "static",
    "readonly",
    "event",
    "fires",
    "memberof",
    "constructor",
    "enum",
    "interface",
    "implements",
    "augments",
    "description",
    "summary",
    "value",
    "var",
    "method",
    "name",
    "package",
    "access",
    "ts-ignore",
    "ts-expect-error",
    "ts-nocheck",
    "ts-check",
    "jsx",
    "flow",
    "format",
    "vite-ignore",
    // templates and directives (Razor, Blade, Vue, Angular)
    "foreach",
    "endforeach",
    "endif",
    "elseif",
    "section",
    "endsection",
    "yield",
    "extends",
    "model",
    "using",
    "inject",
    "csrf",
    "auth",
    "endauth",
    "php",
    "endphp",
    "click",
    "submit",
    "change",
    "input",
    "keyup",
    "keydown",
    "blur",
    "focus",
    "html",
    "switch",
    "case",
    "defer",
    "let",
    "component",
    "livewire",
    "vite",
    "once",
    // decorators and annotations
    "staticmethod",
    "classmethod",
    "dataclass",
    "abstractmethod",
    "cached_property",
    "functools",
    "pytest",
    "contextmanager",
    "wraps",
    "lru_cache",
    "cache",
    "total_ordering",
    "overload",
    "final",
    "test",
    "before",
    "after",
    "beforeeach",
    "aftereach",
    "autowired",
    "bean",
    "service",
    "controller",
    "restcontroller",
    "entity",
    "table",
    "column",
    "id",
    "data",
    "getter",
    "setter",
    "builder",
    "nonnull",
    "nullable",
    "suppresswarnings",
    "functionalinterface",
    "configuration",
    "injectable",
    "output",
    "viewchild",
    "hostlistener",
    "observable",
    "action",
    "computed",
    "observer",
    "published",
    "state",
    "binding",
    "main",
    "objc",
    "escaping",
    "mainactor",
    "available",
    "discardableresult",
    "synchronized",
    "transactional",
    "valid",
    "json",
    "serializable",
    // shells, build tools, e-mail headers
    "echo",
    "rem",
    "rm",
    "mkdir",
    "cd",
    // group mentions
    "everyone",
    "here",
    "channel",
    "all",
    "team",
    "room",
];

/// Last labels of common domains: "@company.com" names a domain, not a person.
const DOMAIN_ENDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "mil", "int", "io", "co", "ai", "dev", "app", "me", "info", "biz", "us", "uk",
    "ca", "au", "de", "fr", "es", "it", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "pl", "pt", "br", "in", "jp",
    "cn", "ru", "tv", "cloud", "tech", "xyz", "social", "online", "site",
];

/// Handles are grown from each `@` found by memchr and checked by hand; no regex.
pub(super) struct Handles;

impl Handles {
    pub(super) fn new() -> Self {
        Handles
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        let b = text.as_bytes();
        for at in memchr::memchr_iter(b'@', b) {
            if let Some(end) = handle_end(text, at) {
                out.push(entity(at, end, Label::Username, SCORE));
            }
        }
    }
}

fn body_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The end of the handle whose `@` is at byte `at`, if it is one.
fn handle_end(text: &str, at: usize) -> Option<usize> {
    // Only at the start of a word: not "a@b.io", "react@18", "path/@x", "@@x".
    if text[..at].chars().next_back().is_some_and(|c| !opens_handle(c)) {
        return None;
    }
    let after = &text[at + 1..];
    let len = after.char_indices().find(|(_, c)| !body_char(*c)).map_or(after.len(), |(i, _)| i);
    // A sentence's dot or a dash after it is not part of it.
    let body = after[..len].trim_end_matches(['.', '-']);
    let count = body.chars().count();
    if count == 0 || count > MAX_LEN || !body.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        return None;
    }
    if !body.chars().any(char::is_alphabetic) {
        return None;
    }
    let mut end = at + 1 + body.len();
    let rest = &text[end..];
    // "@types/node", "@click=", "@app.route(", "@Override(": a package scope, an attribute, a call.
    if rest.starts_with(['/', '(', '=', '\\', '{']) {
        return None;
    }
    // "@example.com": a domain (an address's second half), not a handle.
    if body.rsplit_once('.').is_some_and(|(_, tld)| DOMAIN_ENDS.contains(&tld.to_ascii_lowercase().as_str())) {
        return None;
    }
    let word = body.split('.').next().unwrap_or(body);
    if CODE_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)) {
        return None;
    }
    // A decorator or annotation on a line of its own ("    @dataclass"); a handle is seldom
    // all a line says.
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = rest.find('\n').map_or(text.len(), |i| end + i);
    if text[line_start..at].trim().is_empty() && text[end..line_end].trim().is_empty() {
        return None;
    }
    // "@name@server.social": the server is part of the handle.
    if let Some(server) = rest.strip_prefix('@') {
        let n = server.char_indices().find(|(_, c)| !body_char(*c)).map_or(server.len(), |(i, _)| i);
        let server = server[..n].trim_end_matches(['.', '-']);
        if server.contains('.') && server.split('.').all(|p| !p.is_empty()) {
            end += 1 + server.len();
        } else {
            return None;
        }
    }
    Some(end)
}

/// Characters a handle may follow: spaces, brackets, quotes and sentence punctuation.
fn opens_handle(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | '[' | '{' | '<' | '"' | '\'' | '“' | '‘' | '«' | ',' | ';' | ':' | '!' | '?' | '*' | '>' | '|' | '~'
        )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{found, found_label};
    use crate::mask::Label;

    #[test]
    fn finds_handles() {
        for (text, want) in [
            ("@jenny_k and i went", &["@jenny_k"][..]),
            ("RT @SportsCenter : 76ers win", &["@SportsCenter"]),
            ("cc @bob.smith-99, @priya-r.", &["@bob.smith-99", "@priya-r"]),
            ("(thanks @Comp_Finance) and “@DrBruceB”", &["@Comp_Finance", "@DrBruceB"]),
            ("follow @shafeeva1 please", &["@shafeeva1"]),
            ("toot at @anna@mastodon.social today", &["@anna@mastodon.social"]),
            ("@kofi_builds says\nit broke", &["@kofi_builds"]),
            ("ping @jenny: the build is red", &["@jenny"]),
            ("@Lukas_Meier @AnnaB hi", &["@Lukas_Meier", "@AnnaB"]),
        ] {
            assert_eq!(found_label(text, Label::Username), want, "{text}");
        }
    }

    #[test]
    fn rejects_addresses_code_and_look_alikes() {
        for text in [
            "a@b.io",
            "mail john.doe@example.com",
            "npm i react@18 and pkg@latest",
            "import x from '@types/node' or '@/components/Button'",
            "Use the @property decorator for getters",
            "@dataclass\nclass Point:",
            "    @Override\n    public String toString()",
            "@app.route(\"/\")\ndef index():",
            "@Injectable()",
            "<button @click=\"go\">",
            "@media (max-width: 600px) { }",
            "/** @param x the value @returns nothing */",
            "@everyone the server is down",
            "meet @10:30 or @ 5pm",
            "email@@example",
            "x@@y",
            "@",
            "@-",
            "@@handle",
            "https://medium.com/@writer/post",
            "@foreach ($users as $user)",
            "we only accept @company.com and @uni.ac.uk addresses",
        ] {
            let got = found_label(text, Label::Username);
            assert_eq!(got, Vec::<String>::new(), "{text}");
        }
        // The address stays an e-mail address.
        assert_eq!(found("a@b.io"), vec![(Label::Email, "a@b.io".to_string())]);
        assert_eq!(found("write to jenny@example.com"), vec![(Label::Email, "jenny@example.com".to_string())]);
    }
}
