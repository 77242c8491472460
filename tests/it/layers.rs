//! The layering of `src/` (README.md, "Architecture"), enforced: a module may use only the
//! modules of lower layers. Each `crate::X` path inside top-level module Y is an edge Y → X;
//! an edge that does not go down fails with the file and line that makes it.

use std::path::Path;

/// Bottom to top. Modules in one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["paths", "ui", "check", "sse"],
    &["config"],
    &["apply"],
    &["modelmap"],
    &["agentsmd", "secrets", "agents"],
    &["policy", "mcp", "services"],
    &["runtime"],
    &["clients"],
    &["import"],
    &["doctor"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// (top-level module, file, line number, line) of every `crate::` reference in src/.
fn references(src: &Path) -> Vec<(String, String, usize, String)> {
    let mut out = vec![];
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel.components().next().unwrap().as_os_str().to_string_lossy();
            let module = top.trim_end_matches(".rs").to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                out.push((module.clone(), rel.display().to_string(), n + 1, line.to_string()));
            }
        }
    }
    out
}

/// The top-level modules a line names: `crate::X` and the members of `crate::{X, Y::…}`.
fn targets(line: &str) -> Vec<String> {
    let mut out = vec![];
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = group.split('}').next().unwrap_or("");
            out.extend(body.split(',').filter_map(|p| p.trim().split("::").next()).map(str::to_string));
        } else {
            out.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = vec![];
    let mut unknown = std::collections::BTreeSet::new();
    for (module, file, n, line) in references(&src) {
        if module == "main" {
            continue;
        }
        let Some(from) = layer(&module) else {
            unknown.insert(module.clone());
            continue;
        };
        for target in targets(&line) {
            if target == module {
                continue;
            }
            match layer(&target) {
                Some(to) if to < from => {}
                Some(_) => bad.push(format!("src/{file}:{n}: {module} uses {target}: {}", line.trim())),
                None => {
                    unknown.insert(target);
                }
            }
        }
    }
    assert!(unknown.is_empty(), "top-level modules missing from LAYERS: {unknown:?}");
    assert!(bad.is_empty(), "edges that do not go down a layer:\n{}", bad.join("\n"));
}

#[test]
fn the_layer_check_sees_grouped_and_nested_paths() {
    assert_eq!(targets("use crate::{apply::Artifact, config};"), ["apply", "config"]);
    assert_eq!(targets("let x = crate::clients::mcp_entry(c, crate::paths::x);"), ["clients", "paths"]);
}
