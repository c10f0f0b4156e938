//! Command-line plumbing shared by the `bank` and `phone` programs: argument
//! splitting, usage errors, amounts as people type them, state directories.

use std::error::Error;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dynpin::text;

pub(crate) type Res<T> = Result<T, Box<dyn Error>>;

/// The usage lines of `command`, or all of them when it is not known.
pub(crate) fn usage_of(program: &str, usage_text: &str, command: Option<&str>) -> String {
    let lines: Vec<&str> = usage_text
        .lines()
        .filter(|line| command.is_some_and(|c| line.split_whitespace().any(|w| w == c)))
        .map(|line| line.trim_start_matches("usage:").trim())
        .collect();
    if lines.is_empty() {
        return usage_text.to_owned();
    }
    format!(
        "usage: {}\n(`{program} --help` for details)",
        lines.join("\n       ")
    )
}

/// Bad command-line input: printed with the usage, exit status 2.
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Usage {}

pub(crate) fn usage<T>(message: impl Into<String>) -> Res<T> {
    Err(Box::new(Usage(message.into())))
}

// ---- command line ----------------------------------------------------------

/// The arguments not consumed yet. Options may come anywhere; `--` ends them.
pub(crate) struct Args {
    /// Each option with its value, if it takes one.
    options: Vec<(String, Option<String>)>,
    /// The arguments that are not options, in order.
    pub(crate) positionals: Vec<String>,
}

impl Args {
    /// Splits `args`; `takes_value` says which options are followed by a value.
    pub(crate) fn new(
        mut args: impl Iterator<Item = String>,
        takes_value: fn(&str) -> bool,
    ) -> Self {
        let mut options = Vec::new();
        let mut positionals = Vec::new();
        while let Some(arg) = args.next() {
            if arg == "--" {
                positionals.extend(args.by_ref());
            } else if arg.starts_with("--") || arg == "-h" {
                let value = if takes_value(&arg) { args.next() } else { None };
                options.push((arg, value));
            } else {
                positionals.push(arg);
            }
        }
        Self {
            options,
            positionals,
        }
    }

    pub(crate) fn flag(&mut self, name: &str) -> bool {
        let before = self.options.len();
        self.options.retain(|(o, _)| o != name);
        self.options.len() != before
    }

    /// Whether help was asked for, with `--help` or `-h`.
    pub(crate) fn help(&mut self) -> bool {
        let long = self.flag("--help");
        self.flag("-h") || long
    }

    pub(crate) fn value(&mut self, name: &str) -> Res<Option<String>> {
        let Some(at) = self.options.iter().position(|(o, _)| o == name) else {
            return Ok(None);
        };
        match self.options.remove(at).1 {
            Some(value) => Ok(Some(value)),
            None => usage(format!("{name} needs a value")),
        }
    }

    /// Takes the first positional argument as the command, which must be one of `commands`.
    pub(crate) fn command(&mut self, commands: &[&str]) -> Res<String> {
        if self.positionals.is_empty() {
            return usage("missing command");
        }
        let command = self.positionals.remove(0);
        if !commands.contains(&command.as_str()) {
            return usage(format!("unknown command '{command}'"));
        }
        Ok(command)
    }

    /// Fails on any option left over.
    pub(crate) fn done(&self) -> Res<()> {
        match self.options.first() {
            Some((option, _)) => usage(format!("unknown option '{option}'")),
            None => Ok(()),
        }
    }

    /// Exactly `N` positional arguments.
    pub(crate) fn exactly<const N: usize>(&self, what: &str) -> Res<[String; N]> {
        self.done()?;
        match <[String; N]>::try_from(self.positionals.clone()) {
            Ok(values) => Ok(values),
            Err(_) => usage(what.to_owned()),
        }
    }
}

/// Options followed by a value.
/// An amount in rials as typed: digits in any script; spaces, dashes and
/// thousands separators (`,` `٬` `_`) ignored.
pub(crate) fn parse_amount(typed: &str) -> Res<u64> {
    let plain: String = typed
        .chars()
        .filter(|c| !matches!(c, ',' | '\u{066C}' | '_'))
        .collect();
    match text::parse_number(&plain) {
        Ok(rials) => Ok(rials),
        Err(e) => usage(format!("'{typed}' is not an amount in rials: {e}")),
    }
}

/// The directory given, or the per-user data directory for `role`.
pub(crate) fn state_dir(given: Option<String>, role: &str) -> Res<PathBuf> {
    let dir = match given {
        Some(dir) => PathBuf::from(dir),
        None => {
            let base = match (std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME")) {
                (Some(xdg), _) if !xdg.is_empty() => PathBuf::from(xdg),
                (_, Some(home)) if !home.is_empty() => {
                    PathBuf::from(home).join(".local").join("share")
                }
                _ => return usage("no home directory: give the state directory with --dir DIR"),
            };
            base.join("dynpin").join(role)
        }
    };
    Ok(dir)
}

/// Creates `dir` (mode 0700 on Unix) if it is missing: only when something is
/// written, so a mistyped command leaves no directory behind.
pub(crate) fn create_dir(dir: &Path) -> Res<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()).into())
}

/// Turns a program's result into its exit status: usage errors print the
/// message and the usage of the command given (status 2); other errors one
/// line (status 1).
pub(crate) fn finish(
    program: &str,
    usage_text: &str,
    commands: &[&str],
    result: Res<ExitCode>,
) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<Usage>() {
            Some(Usage(message)) => {
                let args: Vec<String> = std::env::args().skip(1).collect();
                let command = args.iter().find(|a| commands.contains(&a.as_str()));
                eprintln!("{program}: {message}");
                eprintln!(
                    "{}",
                    usage_of(program, usage_text, command.map(String::as_str))
                );
                ExitCode::from(2)
            }
            None => {
                eprintln!("{program}: error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
