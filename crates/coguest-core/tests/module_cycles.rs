//! Tidy check for the whole workspace: within every crate, dependencies between source files
//! point one way (no import cycle), as they do between the crates.
//!
//! An edge `a.rs -> b.rs` is any path in `a.rs` that names an item of `b.rs`: `crate::…`,
//! `super::…`, `self::…`, or (in a file that declares modules) a path starting with one of its
//! child modules. Comments and doc links do not count; a child's `super::` inside an inline
//! `mod tests { … }` names its own file. Files in one module folder may use their parent
//! (`impl` blocks spread over children), as long as the parent does not `use` them back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file and its module path (`[]` for `lib.rs`/`main.rs`).
struct SourceFile {
    path: PathBuf,
    module: Vec<String>,
}

fn source_files(src: &Path, module: &[String], out: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut m = module.to_vec();
            m.push(name);
            source_files(&path, &m, out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let mut m = module.to_vec();
            let root = module.is_empty() && (stem == "lib" || stem == "main");
            if !root && stem != "mod" {
                m.push(stem.to_owned());
            }
            // A binary's other roots (`src/bin/*`) would be crates of their own.
            if root && out.iter().any(|f| f.module.is_empty()) {
                continue;
            }
            out.push(SourceFile { path, module: m });
        }
    }
}

/// The code of a file without comments (line comments, doc comments, block comments) and
/// without string literals' contents.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            // A char literal such as '"' or '{'.
            out.push_str("' '");
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path a `use` tree names, braces expanded: `a::{b, c::{d, e}}` gives `a::b`,
/// `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    expand_into("", &tree, &mut out);
    out
}

fn expand_into(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        out.push(format!("{prefix}{tree}"));
        return;
    };
    let head = &tree[..open];
    let inner = &tree[open + 1..tree.len().saturating_sub(1)];
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        expand_into(&format!("{prefix}{head}"), p, out);
    }
}

/// The paths a file names, as module paths from the crate root, with where they start.
fn named_paths(file: &SourceFile, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let code = code_only(&std::fs::read_to_string(&file.path).unwrap());
    // `super::` inside an inline module (tests) names the file's own module.
    let inline_at = code
        .match_indices("mod ")
        .find(|(i, _)| {
            let rest = &code[i + 4..];
            let name_end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            rest[name_end..].trim_start().starts_with('{')
        })
        .map_or(usize::MAX, |(i, _)| i);
    let mut raw: Vec<(usize, String)> = Vec::new();
    // `use` trees, braces expanded.
    for (i, _) in code.match_indices("use ") {
        if i > 0 && is_ident(code.as_bytes()[i - 1] as char) {
            continue;
        }
        let Some(end) = code[i..].find(';') else {
            continue;
        };
        for p in expand_use(&code[i + 4..i + end]) {
            raw.push((i, p));
        }
    }
    // Paths in code.
    for start in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(start) {
            if i > 0 && is_ident(code.as_bytes()[i - 1] as char) {
                continue;
            }
            let len = code[i..]
                .find(|c: char| !(is_ident(c) || c == ':'))
                .unwrap_or(code.len() - i);
            raw.push((i, code[i..i + len].to_owned()));
        }
    }
    let mut out = Vec::new();
    for (at, p) in raw {
        let segs: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
        let Some(first) = segs.first() else {
            continue;
        };
        let mut base: Vec<String> = match *first {
            "crate" => Vec::new(),
            "self" => file.module.clone(),
            "super" => {
                let mut m = file.module.clone();
                if at < inline_at {
                    m.pop();
                }
                m
            }
            child if children.contains(child) => {
                let mut m = file.module.clone();
                m.push(child.to_owned());
                out.push(m);
                continue;
            }
            _ => continue,
        };
        let mut rest = &segs[1..];
        while rest.first() == Some(&"super") {
            base.pop();
            rest = &rest[1..];
        }
        base.extend(rest.iter().map(|s| (*s).to_owned()));
        out.push(base);
    }
    out
}

/// The cycles among `edges` (each reported once, by its strongly connected component).
fn cycles(edges: &BTreeMap<usize, BTreeSet<usize>>, n: usize) -> Vec<Vec<usize>> {
    // Tarjan's algorithm.
    struct T<'a> {
        edges: &'a BTreeMap<usize, BTreeSet<usize>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T<'_>, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        let succ: Vec<usize> = t.edges.get(&v).into_iter().flatten().copied().collect();
        for w in succ {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(i) if t.on[w] => t.low[v] = t.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

/// The file-to-file edges of one crate whose file of module `from` names `to`.
fn crate_cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    source_files(src, &[], &mut files);
    let by_module: BTreeMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.clone(), i))
        .collect();
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let children: BTreeSet<String> = files
            .iter()
            .filter(|g| g.module.len() == f.module.len() + 1 && g.module.starts_with(&f.module))
            .map(|g| g.module[f.module.len()].clone())
            .collect();
        for path in named_paths(f, &children) {
            // The longest prefix that is a module file.
            let target = (0..=path.len())
                .rev()
                .find_map(|k| by_module.get(&path[..k]).copied());
            if let Some(t) = target.filter(|t| *t != i) {
                edges.entry(i).or_default().insert(t);
            }
        }
    }
    cycles(&edges, files.len())
        .into_iter()
        .map(|comp| {
            let names: Vec<String> = comp
                .iter()
                .map(|&i| {
                    files[i]
                        .path
                        .strip_prefix(src)
                        .unwrap()
                        .display()
                        .to_string()
                })
                .collect();
            format!("{}: {}", src.display(), names.join(" <-> "))
        })
        .collect()
}

#[test]
fn no_crate_has_an_import_cycle_between_its_files() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    let mut found = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for src in dirs {
        checked += 1;
        found.extend(crate_cycles(&src));
    }
    assert!(checked >= 5, "found only {checked} crates under {crates:?}");
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// The check sees a cycle when there is one (and none where there is none).
#[test]
fn the_cycle_check_finds_a_cycle() {
    let dir = std::env::temp_dir().join(format!("coguest-cycles-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("room")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "mod a;\nmod b;\nmod room;\npub use a::A;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::b::B;\n// crate::c::C\npub struct A;\n",
    )
    .unwrap();
    std::fs::write(src.join("b.rs"), "pub struct B;\n").unwrap();
    std::fs::write(src.join("room/mod.rs"), "mod x;\nmod y;\npub struct R;\n").unwrap();
    std::fs::write(
        src.join("room/x.rs"),
        "use super::R;\nuse crate::{a::A, room::y::{Y, Z}};\n#[cfg(test)]\nmod tests { use super::*; }\n",
    )
    .unwrap();
    std::fs::write(src.join("room/y.rs"), "pub struct Y;\npub struct Z;\n").unwrap();
    assert_eq!(crate_cycles(&src), Vec::<String>::new());
    std::fs::write(src.join("b.rs"), "use crate::room::x;\npub struct B;\n").unwrap();
    let found = crate_cycles(&src);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    for f in ["a.rs", "b.rs", "room/x.rs"] {
        assert!(found[0].contains(f), "{found:?}");
    }
}
