#!/usr/bin/python3
"""Converts the openspf RFC 7208 YAML suite into a line format the C++ driver reads.

Each line is a keyword followed by fields; every field is written as '=' plus its bytes
percent-encoded, so that empty fields, spaces and non-ASCII octets survive:

  scenario =DESCRIPTION
  record =NAME =TYPE =DATA     (TXT data: the character-strings joined; MX: "PRIO HOST")
  timeout =NAME                (lookups of NAME time out unless a record of the type came first)
  test =NAME =HOST =HELO =MAILFROM =RESULTS =EXPLANATION =HAS_EXPLANATION

SPF records are also served as TXT unless the name lists TXT records itself (or "TXT: NONE"),
as the suite's reference driver does; the suite no longer expects type 99 lookups.
"""
import sys
import urllib.parse

import yaml


def field(value):
    if isinstance(value, str):
        value = value.encode('utf-8')
    return '=' + urllib.parse.quote(value, safe='')


def txt_data(value):
    if isinstance(value, list):
        return ''.join(value)
    return str(value)


def zone_lines(name, entries):
    lines = []
    generated = []
    explicit_txt = False
    for entry in entries:
        if entry == 'TIMEOUT':
            lines.append('timeout ' + field(name))
            continue
        for rtype, value in entry.items():
            if rtype == 'TXT':
                explicit_txt = True
            if rtype == 'SPF':
                generated.append(value)
            if value == 'NONE':
                continue
            if value == 'TIMEOUT':
                lines.append('timeout ' + field(name))
                continue
            if rtype in ('TXT', 'SPF'):
                data = txt_data(value)
            elif rtype == 'MX':
                data = '%s %s' % (value[0], value[1])
            else:
                data = str(value)
            lines.append('record %s %s %s' % (field(name), field(rtype), field(data)))
    if not explicit_txt:
        for value in generated:
            lines.append('record %s %s %s' % (field(name), field('TXT'), field(txt_data(value))))
    return lines


def main():
    with open(sys.argv[1], encoding='utf-8') as suite:
        for scenario in yaml.safe_load_all(suite):
            if not scenario:
                continue
            print('scenario ' + field(scenario.get('description', '')))
            for name, entries in (scenario.get('zonedata') or {}).items():
                for line in zone_lines(name, entries):
                    print(line)
            for test_name, test in scenario['tests'].items():
                results = test['result']
                if not isinstance(results, list):
                    results = [results]
                explanation = test.get('explanation')
                print('test ' + ' '.join(field(v) for v in (
                    test_name, test['host'], test.get('helo', ''), test.get('mailfrom', ''),
                    ','.join(results), explanation or '', '1' if explanation else '0')))


if __name__ == '__main__':
    main()
