//! User names in home-directory paths for the pattern detector (`super`): the account name
//! of `/home/dmitri/app.py`, `/Users/anna.k/Library/...` and `C:\Users\John Smith\Desktop`
//! (also with JSON's doubled backslashes or forward slashes), reported as USERNAME. Pasted
//! stack traces, build logs and shell prompts carry them, and an account name is often the
//! person's own name. Only the name is masked; the path around it reaches the provider.
//!
//! Not a name: a path inside a URL or a longer path (`example.com/home/feed`,
//! `/api/users/42`: `/home` and `/Users` must begin the path), placeholders (`$USER`,
//! `%USERNAME%`, `<you>`, `{user}`), and the accounts that images, CI runners and package
//! managers create for no one (`ubuntu`, `runner`, `ec2-user`, `linuxbrew`, `Shared` ...).

use super::entity;
use crate::mask::{Entity, Label};
use regex::Regex;

/// Reported score: certain by shape, but not validated like a checksum.
const SCORE: f32 = 0.9;

/// Longest account name taken (Windows allows 20 characters, Linux 32; a display-name
/// folder may be longer).
const MAX_LEN: usize = 48;

/// Accounts no person owns, compared ASCII case-insensitively.
const GENERIC: &[&str] = &[
    "user",
    "username",
    "users",
    "yourname",
    "your_name",
    "yourusername",
    "your_username",
    "your-username",
    "me",
    "you",
    "name",
    "ubuntu",
    "debian",
    "centos",
    "fedora",
    "ec2-user",
    "azureuser",
    "opc",
    "admin",
    "administrator",
    "root",
    "runner",
    "runneradmin",
    "circleci",
    "travis",
    "gitpod",
    "codespace",
    "vscode",
    "coder",
    "vagrant",
    "docker",
    "node",
    "app",
    "jenkins",
    "git",
    "postgres",
    "www-data",
    "nobody",
    "linuxbrew",
    "pi",
    "shared",
    "public",
    "default",
    "default user",
    "all users",
    "guest",
    "test",
    "dev",
];

/// `/home/NAME` and `/Users/NAME` at the start of a path, and `X:\Users\NAME` (one or two
/// backslashes, or a slash).
pub(super) struct HomeDirs {
    unix: Regex,
    windows: Regex,
}

impl HomeDirs {
    pub(super) fn new() -> Self {
        HomeDirs {
            unix: Regex::new(r#"(?:^|[\s"'`(\[=:,;<>|]|file://)(?:/home|/Users)/([^/\\\s"'`<>|:*?()\[\]{},;]+)"#)
                .expect("home directory pattern compiles"),
            windows: Regex::new(r#"\b[A-Za-z]:(?:\\{1,2}|/)(?i:users)(?:\\{1,2}|/)([^\\/\r\n\t"'`<>|:*?]+)"#)
                .expect("Windows profile pattern compiles"),
        }
    }

    pub(super) fn find(&self, text: &str, out: &mut Vec<Entity>) {
        // Substring checks first: most texts hold no path and never reach a regex.
        if text.contains("/home/") || text.contains("/Users/") {
            for c in self.unix.captures_iter(text) {
                let m = c.get(1).expect("group 1");
                push(text, m.start(), m.end(), out);
            }
        }
        if !(text.contains(":\\") || text.contains(":/")) {
            return;
        }
        for c in self.windows.captures_iter(text) {
            let m = c.get(1).expect("group 1");
            // A folder name with spaces ("John Smith") only where a separator closes it;
            // otherwise the name ends at the first space ("C:\Users\anna is full").
            let closed = text[m.end()..].starts_with(['\\', '/']);
            let end =
                if closed { m.end() } else { m.start() + m.as_str().find(char::is_whitespace).unwrap_or(m.len()) };
            push(text, m.start(), end, out);
        }
    }
}

fn push(text: &str, start: usize, end: usize, out: &mut Vec<Entity>) {
    // A sentence's full stop or comma after a bare name is not part of it.
    let name = text[start..end].trim_end_matches(['.', ',']).trim_end();
    let end = start + name.len();
    let placeholder = name.starts_with(['$', '%', '<', '{', '~', '*', '.']);
    if name.is_empty()
        || name.chars().count() > MAX_LEN
        || placeholder
        || !name.chars().any(char::is_alphabetic)
        || GENERIC.iter().any(|g| name.eq_ignore_ascii_case(g))
    {
        return;
    }
    out.push(entity(start, end, Label::Username, SCORE));
}

#[cfg(test)]
mod tests {
    use super::super::tests::found_label;
    use crate::mask::Label;

    #[test]
    fn finds_the_account_name_of_home_directories() {
        for (text, want) in [
            (r#"Traceback: File "/home/dmitri/app.py", line 3"#, &["dmitri"][..]),
            ("cd /Users/anna.k/Library/Caches && ls", &["anna.k"]),
            (r"open C:\Users\John Smith\Desktop\report.docx", &["John Smith"]),
            (r#"{"path": "C:\\Users\\kwame.mensah\\AppData\\Local"}"#, &["kwame.mensah"]),
            ("C:/Users/Ingrid/Downloads", &["Ingrid"]),
            (r"C:\Users\anna is full", &["anna"]),
            ("HOME=/home/priya-r", &["priya-r"]),
            ("cwd: /home/olu_ade.", &["olu_ade"]),
            ("file:///Users/zoe/notes.txt", &["zoe"]),
        ] {
            assert_eq!(found_label(text, Label::Username), want, "{text}");
        }
    }

    #[test]
    fn leaves_urls_placeholders_and_service_accounts_alone() {
        for text in [
            "GET https://example.com/home/feed",
            "curl localhost:8080/api/users/42",
            "/home/$USER/.bashrc",
            r"C:\Users\%USERNAME%\AppData",
            "/home/<you>/project",
            "/home/{user}/x",
            "/home/ubuntu/app and /home/runner/work",
            "/Users/Shared/data",
            "/home/linuxbrew/.linuxbrew/bin",
            "the /home/ directory",
            "~/projects/veil",
        ] {
            assert_eq!(found_label(text, Label::Username), Vec::<String>::new(), "{text}");
        }
    }
}
