#!/usr/bin/python3
"""Checks deploy/monitoring/ against quire's metric contract (deploy/monitoring/metrics.txt).

  check_monitoring.py grafana DASHBOARD.json METRICS.txt OUT_RULES.yml
      valid JSON; a datasource variable (type datasource, prometheus); job and instance
      variables; every panel has a unit, a datasource and targets that name ${datasource};
      every expression uses only contract metric names. Writes each expression as a
      recording rule into OUT_RULES.yml (Grafana's variables replaced) for promtool to parse.
  check_monitoring.py rules RULES.yml METRICS.txt
      every metric name in the alerting and recording rules is in the contract (or `up`).
  check_monitoring.py doc METRICS.txt DOC.md
      every name of the contract appears in the documentation page.
  check_monitoring.py cloudwatch TEMPLATE.yaml METRICS.txt
      the AWS::CloudWatch::Dashboard bodies are valid JSON whose metrics (namespace Quire)
      are in the contract with exactly its dimensions; so are the AWS::CloudWatch::Alarm
      resources' metrics in namespace Quire.

Prints one line per problem and exits 1 if there is any; 0 and a count otherwise.
Runs under /usr/bin/python3 (Debian's python3-yaml).
"""
import json
import re
import sys

import yaml

# Names that are PromQL or Prometheus, not metrics: functions, keywords, the scrape's own series.
PROMQL_WORDS = {"up"}
METRIC_RE = re.compile(r"(?<![\w:\"$.])(quire_[a-z0-9_]+)(?![\w:])")
# Grafana variables and what stands for them when promtool parses the expression.
GRAFANA_VARS = [("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1h")]
AWS_METRICS = {("AWS/AutoScaling", "GroupInServiceInstances"): {"AutoScalingGroupName"},
               ("AWS/EC2", "CPUUtilization"): {"AutoScalingGroupName"}}


def load_contract(path):
    prom, cw = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if line[0] == "prometheus" and len(line) == 4:
                prom[line[1]] = line[2]
            elif line[0] == "cloudwatch" and len(line) == 4:
                cw[line[1]] = set(line[3].split(","))
            else:
                raise SystemExit(f"{path}: cannot read line: {' '.join(line)}")
    return prom, cw


def series_names(prom):
    """Every series name the contract allows: histograms and summaries add their suffixes."""
    names = set()
    for name, kind in prom.items():
        names.add(name)
        if kind == "histogram":
            names.update({name + "_bucket", name + "_sum", name + "_count"})
        elif kind == "summary":
            names.update({name + "_sum", name + "_count"})
    return names


def unknown_metrics(expr, allowed):
    return sorted({m for m in METRIC_RE.findall(expr) if m not in allowed})


def uses_datasource_var(ds):
    uid = ds.get("uid", "") if isinstance(ds, dict) else ds
    return uid in ("${datasource}", "$datasource")


def check_grafana(dash_path, contract, out_rules):
    problems = []
    with open(dash_path, encoding="utf-8") as f:
        try:
            dash = json.load(f)
        except json.JSONDecodeError as e:
            return [f"{dash_path}: not JSON: {e}"], 0
    allowed = series_names(load_contract(contract)[0])
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        if key not in dash:
            problems.append(f"dashboard has no {key}")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no template variable 'datasource' of type datasource for prometheus")
    for name in ("job", "instance"):
        if name not in variables:
            problems.append(f"no template variable '{name}'")
    for name, v in variables.items():
        if v.get("type") == "query" and not uses_datasource_var(v.get("datasource")):
            problems.append(f"variable {name}: datasource is not ${{datasource}}")
    rules, n = [], 0
    for panel in dash.get("panels", []):
        title = panel.get("title", f"panel {panel.get('id')}")
        if panel.get("type") == "row":
            continue
        n += 1
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not unit:
            problems.append(f"{title}: no unit (fieldConfig.defaults.unit)")
        if not uses_datasource_var(panel.get("datasource")):
            problems.append(f"{title}: panel datasource is not ${{datasource}}")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{title}: no targets")
        for t in targets:
            if "datasource" in t and not uses_datasource_var(t["datasource"]):
                problems.append(f"{title} {t.get('refId')}: target datasource is not ${{datasource}}")
            expr = t.get("expr", "")
            if not expr:
                problems.append(f"{title} {t.get('refId')}: no expr")
                continue
            if not METRIC_RE.search(expr):
                problems.append(f"{title} {t.get('refId')}: names no quire metric: {expr}")
            for m in unknown_metrics(expr, allowed):
                problems.append(f"{title} {t.get('refId')}: {m} is not in the metric contract")
            for var, value in GRAFANA_VARS:
                expr = expr.replace(var, value)
            if "$" in expr.replace('"$job"', "").replace('"$instance"', ""):
                problems.append(f"{title} {t.get('refId')}: a Grafana variable promtool cannot stand in for: {expr}")
            rules.append({"record": f"quire:panel_{panel.get('id')}_{t.get('refId', 'X')}", "expr": expr})
    if n == 0:
        problems.append("the dashboard has no panels")
    with open(out_rules, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, sort_keys=False)
    return problems, n


def check_rules(rules_path, contract):
    allowed = series_names(load_contract(contract)[0]) | PROMQL_WORDS
    with open(rules_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    problems, n = [], 0
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            n += 1
            name = rule.get("alert") or rule.get("record")
            for m in unknown_metrics(rule.get("expr", ""), allowed):
                problems.append(f"{name}: {m} is not in the metric contract")
            if "alert" in rule:
                if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
                    problems.append(f"{name}: no severity label (warning or critical)")
                ann = rule.get("annotations", {})
                for key in ("summary", "description"):
                    if "{{ $labels.instance }}" not in ann.get(key, ""):
                        problems.append(f"{name}: its {key} does not name the instance")
                if "quire " not in ann.get("description", "") and "systemctl" not in ann.get("description", ""):
                    problems.append(f"{name}: its description says no command to run")
    return problems, n


def check_doc(contract, doc_path):
    prom, cw = load_contract(contract)
    with open(doc_path, encoding="utf-8") as f:
        text = f.read()
    problems = [f"{name} is not in {doc_path}" for name in list(prom) + list(cw)
                if not re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", text)]
    return problems, len(prom) + len(cw)


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Fn::" + suffix if suffix not in ("Ref", "Condition") else suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


def check_metric_use(where, namespace, name, dims, cw):
    if namespace == "Quire":
        if name not in cw:
            return [f"{where}: Quire {name} is not in the metric contract"]
        if set(dims) != cw[name]:
            return [f"{where}: Quire {name} with dimensions {sorted(dims)}, the contract has {sorted(cw[name])}"]
        return []
    if (namespace, name) not in AWS_METRICS:
        return [f"{where}: {namespace} {name} is neither quire's nor a known AWS metric"]
    if set(dims) != AWS_METRICS[(namespace, name)]:
        return [f"{where}: {namespace} {name} with dimensions {sorted(dims)}"]
    return []


def check_cloudwatch(tpl_path, contract):
    cw = load_contract(contract)[1]
    with open(tpl_path, encoding="utf-8") as f:
        tpl = yaml.load(f, Loader=CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    problems, n, dashboards = [], 0, 0
    for rid, res in tpl.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::CloudWatch::Alarm":
            if props.get("Namespace") != "Quire":
                continue
            n += 1
            dims = [d["Name"] for d in props.get("Dimensions", [])]
            problems += check_metric_use(rid, "Quire", props.get("MetricName"), dims, cw)
        elif res.get("Type") == "AWS::CloudWatch::Dashboard":
            dashboards += 1
            body = props.get("DashboardBody")
            if isinstance(body, dict) and "Fn::Sub" in body:
                body = body["Fn::Sub"]
                body = body[0] if isinstance(body, list) else body
                body = re.sub(r"\$\{[^}]+\}", "X", body)
            if not isinstance(body, str):
                problems.append(f"{rid}: DashboardBody is not a string or !Sub of one")
                continue
            try:
                doc = json.loads(body)
            except json.JSONDecodeError as e:
                problems.append(f"{rid}: DashboardBody is not JSON: {e}")
                continue
            widgets = doc.get("widgets", [])
            if not widgets:
                problems.append(f"{rid}: no widgets")
            for i, w in enumerate(widgets):
                wp = w.get("properties", {})
                where = f"{rid} widget {i} ({wp.get('title', '')})"
                if w.get("type") != "metric":
                    continue
                if not wp.get("metrics"):
                    problems.append(f"{where}: no metrics")
                for m in wp.get("metrics", []):
                    n += 1
                    fields = [x for x in m if not isinstance(x, dict)]
                    if len(fields) < 2 or len(fields) % 2 or "." in fields:
                        problems.append(f"{where}: write each metric in full: {m}")
                        continue
                    problems += check_metric_use(where, fields[0], fields[1], fields[2::2], cw)
    if dashboards == 0:
        problems.append("the template has no AWS::CloudWatch::Dashboard")
    return problems, n


def main(argv):
    if len(argv) >= 2 and argv[1] == "grafana" and len(argv) == 5:
        problems, n = check_grafana(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "rules":
        problems, n = check_rules(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "doc":
        problems, n = check_doc(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "cloudwatch":
        problems, n = check_cloudwatch(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"ok: {n} checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
