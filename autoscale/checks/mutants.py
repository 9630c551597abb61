#!/usr/bin/env python3
"""Broken copies of the fleet template, one per check, made from the good one.

usage: mutants.py TEMPLATE OUTDIR
Writes OUTDIR/<name>.yaml for each mutant and prints one line per mutant:
    <name> <tool>:<id> [<tool>:<id> ...]
meaning that each named tool must fail on that copy and name that id in its
output (tool: yamllint, cfn-lint, guard). Every edit must apply exactly once, so
a template that changes under a mutant makes this script fail instead of
producing a copy that proves nothing.
"""
import os
import sys


def once(text, old, new):
    n = text.count(old)
    if n != 1:
        raise SystemExit("mutants: expected one %r in the template, found %d" % (old[:60], n))
    return text.replace(old, new)


def drop_lines(text, first, count):
    """Removes `count` lines starting at the one line that contains `first`."""
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if first in line]
    if len(hits) != 1:
        raise SystemExit("mutants: expected one line with %r, found %d" % (first, len(hits)))
    i = hits[0]
    return "\n".join(lines[:i] + lines[i + count:])


MUTANTS = [
    # -- yamllint
    ("duplicate-key", ["yamllint:key-duplicates"],
     lambda t: once(t, "      MinSize: !Ref MinSize\n      MaxSize: !Ref MaxSize\n",
                    "      MinSize: !Ref MinSize\n      MinSize: 1\n      MaxSize: !Ref MaxSize\n")),
    # -- cfn-lint's own rules still run
    ("unknown-property", ["cfn-lint:E3002"],
     lambda t: once(t, "        InstanceType: !Ref InstanceType\n", "        InstanceTypo: !Ref InstanceType\n")),
    # -- cfn-lint custom (DSL) rules, autoscale/checks/cfnlint-custom.txt
    ("imds-optional", ["cfn-lint:E9001", "guard:QUIRE.IMDSV2"],
     lambda t: once(t, "HttpTokens: required", "HttpTokens: optional")),
    ("basic-monitoring", ["cfn-lint:E9002", "guard:QUIRE.DETAILED_MONITORING"],
     lambda t: once(t, "Monitoring: {Enabled: true}", "Monitoring: {Enabled: false}")),
    # -- cfn-lint Python rules, autoscale/checks/cfnlint/quire_rules.py
    ("heartbeat-over-api-max", ["cfn-lint:E9101"],
     lambda t: once(t, "          HeartbeatTimeout: !Ref DrainHeartbeatTimeout\n",
                    "          HeartbeatTimeout: 9000\n")),
    ("heartbeat-parameter-allows-too-much", ["cfn-lint:E9101"],
     lambda t: once(t, "    Default: 1800\n    MinValue: 30\n    MaxValue: 7200\n",
                    "    Default: 1800\n    MinValue: 30\n    MaxValue: 10800\n")),
    ("datapoints-over-periods", ["cfn-lint:E9102"],
     lambda t: once(t, "      DatapointsToAlarm: !Ref CpuScaleOutMinutes\n", "      DatapointsToAlarm: 5\n")),
    ("step-gap", ["cfn-lint:E9103"],
     lambda t: once(t, "          MetricIntervalUpperBound: !Ref BacklogBigStepAbove\n",
                    "          MetricIntervalUpperBound: 4\n")),
    ("step-overlap", ["cfn-lint:E9103"],
     lambda t: once(t, "          MetricIntervalUpperBound: !Ref BacklogBigStepAbove\n",
                    "          MetricIntervalUpperBound: 12\n")),
    ("steps-miss-the-breach", ["cfn-lint:E9103"],
     lambda t: once(t, "        - MetricIntervalUpperBound: 0\n          ScalingAdjustment: -1\n",
                    "        - MetricIntervalUpperBound: -1\n          ScalingAdjustment: -1\n")),
    ("chef-parameter-misspelled", ["cfn-lint:E9104"],
     lambda t: once(t, "        RunList: [", "        Runlist: [")),
    # -- cfn-guard rules, autoscale/checks/quire.guard
    ("no-drain-hook", ["guard:QUIRE.DRAIN_HOOK"],
     lambda t: drop_lines(t, "- LifecycleHookName: quire-drain", 4)),
    ("no-launch-hook", ["guard:QUIRE.LAUNCH_HOOK"],
     lambda t: drop_lines(t, "- LifecycleHookName: quire-converged", 4)),
    ("launch-hook-renamed", ["guard:QUIRE.LAUNCH_HOOK"],
     lambda t: once(t, "- LifecycleHookName: quire-converged", "- LifecycleHookName: converged")),
    ("alarm-without-action", ["guard:QUIRE.ALARM_ACTIONS"],
     lambda t: once(t, "      AlarmActions: [!Ref ActivityScaleInPolicy]\n", "")),
    ("alarm-to-a-topic", ["guard:QUIRE.ALARM_POLICY"],
     lambda t: once(t, "      AlarmActions: [!Ref FromZeroPolicy]\n",
                    "      AlarmActions: [!Sub 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:ops']\n")),
    ("alarm-to-a-non-policy", ["guard:QUIRE.ALARM_POLICY"],
     lambda t: once(t, "      AlarmActions: [!Ref CpuScaleInPolicy]\n", "      AlarmActions: [!Ref LaunchTemplate]\n")),
    ("star-parameters", ["guard:QUIRE.NO_STAR_RESOURCE"],
     lambda t: once(t, "                Action: ssm:GetParameter\n                Resource:\n"
                       "                  - !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${RedisUrlParameter}\n"
                       "                  - !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${KeyParameter}\n",
                    "                Action: ssm:GetParameter\n                Resource:\n                  - '*'\n")),
    ("star-in-conditional-statement", ["guard:QUIRE.NO_STAR_RESOURCE"],
     lambda t: once(t, "                  Resource: !If\n                    - HasSourcePrefix\n"
                       "                    - !Sub arn:${AWS::Partition}:s3:::${SourceBucket}/${SourcePrefix}/*\n"
                       "                    - !Sub arn:${AWS::Partition}:s3:::${SourceBucket}/*\n",
                    "                  Resource: '*'\n")),
    ("star-group-actions", ["guard:QUIRE.NO_STAR_RESOURCE"],
     lambda t: once(t, "                Resource: !Sub >-\n                  arn:${AWS::Partition}:autoscaling:${AWS::Region}:"
                       "${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/${AWS::StackName}-workers\n",
                    "                Resource: '*'\n")),
    ("metrics-any-namespace", ["guard:QUIRE.METRIC_NAMESPACE"],
     lambda t: once(t, "                Condition:\n                  StringEquals:\n                    cloudwatch:namespace: Quire\n"
                       "              - Sid: NamedParametersOnly",
                    "              - Sid: NamedParametersOnly")),
    ("every-s3-action", ["guard:QUIRE.NO_STAR_ACTION"],
     lambda t: once(t, "Action: [s3:GetObject, s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload]",
                    "Action: [s3:*]")),
]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    good = open(sys.argv[1]).read()
    os.makedirs(sys.argv[2], exist_ok=True)
    for name, expect, mutate in MUTANTS:
        bad = mutate(good)
        if bad == good:
            raise SystemExit("mutants: %s changed nothing" % name)
        with open(os.path.join(sys.argv[2], name + ".yaml"), "w") as f:
            f.write(bad)
        print(name, " ".join(expect))


if __name__ == "__main__":
    main()
