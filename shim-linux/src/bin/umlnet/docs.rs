//! `umlnet completions <shell>` and `umlnet manpages <dir>`: shell
//! completions and man pages made from the command-line definitions themselves, so
//! they cannot drift from `--help`. The package ships both (`packaging/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, ValueEnum};

/// `umlnet completions <shell>`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    pub shell: Shell,
}

/// The shells `umlnet completions` writes for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// bash: `source <(umlnet completions bash)`, or install it as
    /// /usr/share/bash-completion/completions/umlnet.
    Bash,
    /// zsh: install as `_umlnet` in a directory of $fpath.
    Zsh,
    /// fish: install as ~/.config/fish/completions/umlnet.fish.
    Fish,
}

pub const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  source <(umlnet completions bash)               # this bash session
  umlnet completions zsh > ~/.zfunc/_umlnet        # zsh, with ~/.zfunc in $fpath
  umlnet completions fish > ~/.config/fish/completions/umlnet.fish";

/// `umlnet manpages <dir>`.
#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// Where to write umlnet.1 and one umlnet-<command>.1 per subcommand.
    pub dir: PathBuf,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> ExitCode {
    let mut cmd = crate::Cli::command();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "umlnet", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Writes the man pages into `args.dir`.
pub fn manpages(args: &ManpagesArgs) -> ExitCode {
    match write_manpages(&args.dir) {
        Ok(names) => {
            for n in names {
                println!("{}", args.dir.join(n).display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("umlnet manpages: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn write_manpages(dir: &Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the directory '{}'", dir.display()))?;
    let cmd = crate::Cli::command().version(env!("CARGO_PKG_VERSION"));
    let mut pages = vec![("umlnet".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        let name = format!("umlnet-{}", sub.get_name());
        // The page's title and synopsis say `umlnet-<command>`, as git's do (clap
        // takes a static name; the program writes its pages and exits).
        let static_name: &'static str = name.clone().leak();
        let page = sub
            .clone()
            .name(static_name)
            .version(env!("CARGO_PKG_VERSION"));
        pages.push((name, page));
    }
    let mut written = Vec::new();
    for (name, page) in pages {
        let file = format!("{name}.1");
        let mut out = Vec::new();
        clap_mangen::Man::new(page)
            .source(format!("umlnet {}", env!("CARGO_PKG_VERSION")))
            .manual("umlnet")
            .render(&mut out)
            .with_context(|| format!("rendering {file}"))?;
        let path = dir.join(&file);
        std::fs::write(&path, out).with_context(|| format!("writing '{}'", path.display()))?;
        written.push(file);
    }
    Ok(written)
}
