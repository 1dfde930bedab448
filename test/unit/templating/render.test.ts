import nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import {
  buildTemplateContext,
  renderTemplate,
  renderTemplateFields,
  TemplateRenderError,
  type ConnectionView,
  type TemplateContextInput,
} from '../../../src/templating/index.ts';

const MODEL_XCOM = { Training: { ModelArtifacts: { S3ModelArtifacts: 's3://b/results/knn-x/output/model.tar.gz' } } };

function makeInput(over: Partial<TemplateContextInput> = {}): TemplateContextInput {
  const variables: Record<string, string> = {
    s3_bucket: 'my-bucket',
    role: 'arn:aws:iam::123456789012:role/sm',
    cfg: '{"a": {"b": [1, 2]}}',
    bad_json: '{nope',
  };
  const connections: Record<string, ConnectionView> = {
    aws_default: {
      conn_id: 'aws_default',
      conn_type: 'aws',
      host: 'localhost',
      login: 'AKIA',
      password: 'secret',
      port: 4566,
      extra: '{"region_name":"eu-west-1"}',
      extra_dejson: { region_name: 'eu-west-1' },
    },
  };
  const xcoms: Record<string, unknown> = {
    'train_model/return_value': MODEL_XCOM,
    'prep/return_value': { conf_echo: '{{ 7*7 }}', list: [{ name: 'a' }, { name: 'b' }] },
    'prep/rows': 42,
    'nullish/return_value': null,
  };
  return {
    dagId: 'knn_pipeline',
    taskId: 'train_model',
    runId: 'scheduled__2025-04-09T00:00:00+00:00',
    runType: 'scheduled',
    logicalDate: new Date('2025-04-09T00:00:00Z'),
    dataIntervalStart: new Date('2025-04-09T00:00:00Z'),
    dataIntervalEnd: new Date('2025-04-10T00:00:00Z'),
    params: { x: 'px', n: 3, flag: true, nested: { list: [1, 'b', null] } },
    conf: { x: 'from-conf', evil: '{{ 7*7 }}', nested: { k: 'v' } },
    tryNumber: 2,
    getVariable: (k) => variables[k],
    getConnection: (id) => connections[id],
    getXCom: (taskId, key) => xcoms[`${taskId}/${key}`],
    ...over,
  };
}

const ctx = buildTemplateContext(makeInput());
const r = (t: string, c: Record<string, unknown> = ctx): string => renderTemplate(t, c);

describe('seed templates render verbatim', () => {
  it.each([
    ['my-training-job-{{ ds }}', 'my-training-job-2025-04-09'],
    ['knn-{{ ts_nodash }}', 'knn-20250409T000000'],
    ["s3://{{ var.value.get('s3_bucket') }}/{{ ts_nodash }}/train.csv", 's3://my-bucket/20250409T000000/train.csv'],
    ["{{ var.value.get('role') }}", 'arn:aws:iam::123456789012:role/sm'],
    ["{{ ti.xcom_pull(task_ids='train_model')['Training']['ModelArtifacts']['S3ModelArtifacts'] }}", 's3://b/results/knn-x/output/model.tar.gz'],
    ["{{ dag_run.conf.get('x', 'd') }}", 'from-conf'],
    ["{{ dag_run.conf.get('missing', 'd') }}", 'd'],
    ['{{ macros.ds_add(ds, 7) }}', '2025-04-16'],
    ['{{ params.x }}', 'px'],
  ])('%s', (template, expected) => {
    expect(r(template)).toBe(expected);
  });
});

describe('context keys', () => {
  it('date strings', () => {
    expect(r('{{ ds }}|{{ ds_nodash }}|{{ ts }}|{{ ts_nodash }}|{{ ts_nodash_with_tz }}')).toBe(
      '2025-04-09|20250409|2025-04-09T00:00:00+00:00|20250409T000000|20250409T000000+0000',
    );
    expect(r('{{ yesterday_ds }} {{ tomorrow_ds_nodash }} {{ task_instance_key_str }}')).toBe('2025-04-08 20250410 knn_pipeline__train_model__20250409');
  });
  it('date objects render like pendulum and behave like datetimes', () => {
    expect(r('{{ logical_date }}|{{ execution_date }}|{{ data_interval_start }}|{{ data_interval_end }}')).toBe(
      '2025-04-09T00:00:00+00:00|2025-04-09T00:00:00+00:00|2025-04-09T00:00:00+00:00|2025-04-10T00:00:00+00:00',
    );
    expect(
      r("{{ logical_date.strftime('%Y/%m/%d') }} {{ logical_date.year }}-{{ logical_date.month }}-{{ logical_date.day }} {{ logical_date.isoformat() }}"),
    ).toBe('2025/04/09 2025-4-9 2025-04-09T00:00:00+00:00');
    expect(r('{{ data_interval_end.add(hours=1, minutes=30) }} {{ logical_date.subtract(days=9) | ds }} {{ logical_date.date() }}')).toBe(
      '2025-04-10T01:30:00+00:00 2025-03-31 2025-04-09',
    );
    expect(r('{{ logical_date.add(months=1) | ds }} {{ logical_date.replace(day=31, month=1) | ds }}')).toBe('2025-05-09 2025-01-31');
    expect(r("{{ data_interval_end > logical_date }} {{ logical_date.timestamp() | int }} {{ logical_date.in_timezone('UTC') }}")).toBe(
      'True 1744156800 2025-04-09T00:00:00+00:00',
    );
    expect(() => r("{{ logical_date.in_timezone('Europe/Paris') }}")).toThrow(/UTC/);
  });
  it('dag, task, ti, dag_run', () => {
    expect(r('{{ dag }} {{ dag.dag_id }} {{ task }} {{ task.task_id }}')).toBe('<DAG: knn_pipeline> knn_pipeline <Task: train_model> train_model');
    expect(r('{{ ti.task_id }} {{ ti.dag_id }} {{ ti.run_id }} {{ ti.try_number }} {{ task_instance.try_number }} {{ ti.map_index }}')).toBe(
      'train_model knn_pipeline scheduled__2025-04-09T00:00:00+00:00 2 2 -1',
    );
    expect(r('{{ run_id }} {{ dag_run.run_id }} {{ dag_run.run_type }} {{ dag_run.logical_date }}')).toBe(
      'scheduled__2025-04-09T00:00:00+00:00 scheduled__2025-04-09T00:00:00+00:00 scheduled 2025-04-09T00:00:00+00:00',
    );
    expect(r('{{ ti }}')).toBe('<TaskInstance: knn_pipeline.train_model scheduled__2025-04-09T00:00:00+00:00 [running]>');
    expect(r('{{ ti.map_index }}', buildTemplateContext(makeInput({ mapIndex: 3 })))).toBe('3');
  });
  it('extra keys are added and may override', () => {
    const c = buildTemplateContext(makeInput({ extra: { job_prefix: 'knn', ds: 'overridden' } }));
    expect(r('{{ job_prefix }}-{{ ds }}', c)).toBe('knn-overridden');
  });
});

describe('params and dag_run.conf are dict-like', () => {
  it('.get, [k], .k, .items(), .keys(), .values()', () => {
    expect(r("{{ params.get('x') }} {{ params['x'] }} {{ params.x }} {{ params.get('nope', 'dflt') }} {{ params.get('nope') }}")).toBe('px px px dflt None');
    expect(r('{% for k, v in dag_run.conf.items() %}{{ k }}={{ v }};{% endfor %}')).toBe("x=from-conf;evil={{ 7*7 }};nested={'k': 'v'};");
    expect(r("{{ dag_run.conf.keys() | join(',') }} {{ params.values() | length }}")).toBe('x,evil,nested 4');
    expect(r("{{ dag_run.conf.nested.get('k') }} {{ 'x' in params }} {{ 'y' in params }}")).toBe('v True False');
  });
  it('still the plain objects (JSON-serialisable as given)', () => {
    const params = ctx.params as Record<string, unknown>;
    expect(JSON.stringify(params)).toBe(JSON.stringify(makeInput().params));
    expect(Object.keys(params)).toEqual(['x', 'n', 'flag', 'nested']);
  });
  it('render like Python dicts and lists', () => {
    expect(r('{{ params }}')).toBe("{'x': 'px', 'n': 3, 'flag': True, 'nested': {'list': [1, 'b', None]}}");
    expect(r('{{ params.nested.list }} {{ params.flag }} {{ params.nested.list[2] }} {{ params.nested.list[-2] }}')).toBe("[1, 'b', None] True None b");
  });
});

describe('var and conn', () => {
  it('var.value / var.json', () => {
    expect(r('{{ var.value.s3_bucket }}')).toBe('my-bucket');
    expect(r("{{ var.value.get('nope', 'fallback') }} {{ var.value.get('nope', default_var='kw') }} {{ var.value.get('nope', None) }}")).toBe(
      'fallback kw None',
    );
    expect(r("{{ var.json.cfg.a.b[1] }} {{ var.json.get('cfg')['a']['b'] | length }} {{ var.json.get('nope', {'d': 1}).d }}")).toBe('2 2 1');
  });
  it('a missing variable raises like Airflow', () => {
    expect(() => r("{{ var.value.get('nope') }}")).toThrow('Variable nope does not exist');
    expect(() => r('{{ var.value.nope }}')).toThrow('Variable nope does not exist');
    expect(() => r('{{ var.json.nope }}')).toThrow('Variable nope does not exist');
    expect(() => r('{{ var.json.bad_json }}')).toThrow(/Variable bad_json is not valid JSON/);
  });
  it('conn attribute access and conn.get', () => {
    expect(r('{{ conn.aws_default.host }}:{{ conn.aws_default.port }} {{ conn.aws_default.login }} {{ conn.aws_default.extra_dejson.region_name }}')).toBe(
      'localhost:4566 AKIA eu-west-1',
    );
    expect(r("{{ conn.get('aws_default').conn_type }} {{ conn.get('nope') }} {{ conn.aws_default }} {{ conn.aws_default.schema }}")).toBe(
      'aws None aws_default None',
    );
    expect(() => r('{{ conn.nope.host }}')).toThrow("The conn_id `nope` isn't defined");
  });
});

describe('ti.xcom_pull', () => {
  it('keyword, positional and key arguments', () => {
    expect(
      r("{{ ti.xcom_pull('prep', key='rows') }} {{ ti.xcom_pull(task_ids='prep', key='rows') }} {{ task_instance.xcom_pull('prep', None, 'rows') }}"),
    ).toBe('42 42 42');
  });
  it('a list of task ids returns a list of the values that exist', () => {
    expect(r("{{ ti.xcom_pull(task_ids=['prep', 'absent', 'train_model']) | length }}")).toBe('2');
    expect(r("{{ ti.xcom_pull(task_ids=['prep'], key='rows') }}")).toBe('[42]');
  });
  it('absent → None (or default); a stored null is None too', () => {
    expect(r("{{ ti.xcom_pull(task_ids='absent') }} {{ ti.xcom_pull(task_ids='absent', default='d') }} {{ ti.xcom_pull('nullish') }}")).toBe('None d None');
    expect(r("{{ ti.xcom_pull(task_ids='absent') is none }}")).toBe('True');
  });
  it('looking deeper into an absent value raises, like Jinja on None', () => {
    expect(r("[{{ ti.xcom_pull(task_ids='absent')['Training'] }}]")).toBe('[]');
    expect(() => r("{{ ti.xcom_pull(task_ids='absent')['Training']['ModelArtifacts'] }}")).toThrow(/'ModelArtifacts'.*undefined/);
  });
  it('unsupported forms fail clearly', () => {
    expect(() => r("{{ ti.xcom_pull(key='rows') }}")).toThrow(/task_ids is required/);
    expect(() => r("{{ ti.xcom_pull('prep', dag_id='other') }}")).toThrow(/another DAG/);
    expect(() => r("{{ ti.xcom_pull(task='prep') }}")).toThrow("xcom_pull() got an unexpected keyword argument 'task'");
  });
  it('XCom values are data: never rendered again', () => {
    expect(r("{{ ti.xcom_pull('prep').conf_echo }}")).toBe('{{ 7*7 }}');
    expect(r("{{ ti.xcom_pull('prep').list | map(attribute='name') | join('+') }}")).toBe('a+b');
  });
});

describe('macros', () => {
  it('ds_add and ds_format', () => {
    expect(r("{{ macros.ds_add('2015-01-06', -5) }} {{ macros.ds_add(ds, 0) }} {{ macros.ds_add(ds, days=1) }}")).toBe('2015-01-01 2025-04-09 2025-04-10');
    expect(r("{{ macros.ds_format('2015-01-01', '%Y-%m-%d', '%m-%d-%y') }} {{ macros.ds_format('1/5/2015', '%m/%d/%Y', '%Y-%m-%d') }}")).toBe(
      '01-01-15 2015-01-05',
    );
    expect(() => r("{{ macros.ds_format('2015-13-01', '%Y-%m-%d', '%Y') }}")).toThrow(/does not match format/);
  });
  it('datetime helpers', () => {
    expect(r("{{ macros.datetime.strptime('2025-04-09 10:11', '%Y-%m-%d %H:%M') }}")).toBe('2025-04-09T10:11:00+00:00');
    expect(r("{{ macros.datetime.fromisoformat('2025-04-09T10:11:12+02:00') | ts }}")).toBe('2025-04-09T08:11:12+00:00');
    expect(r('{{ macros.datetime.utcnow().year > 2000 }} {{ macros.uuid.uuid4() | length }}')).toBe('True 36');
  });
});

describe('Jinja compatibility', () => {
  it('undefined renders empty, but looking into it or calling it raises clearly', () => {
    expect(r('[{{ missing }}]')).toBe('[]');
    expect(() => r('{{ missing.attr }}')).toThrow("cannot read attribute 'attr' of an undefined value");
    expect(() => r('{{ missing() }}')).toThrow('Unable to call `missing`, which is undefined or falsey');
    expect(() => r('{{ params.nope.strip() }}')).toThrow("cannot read attribute 'strip' of an undefined value");
    expect(r("{{ missing | default('d') }} {{ params.nope | default('d2') }}")).toBe('d d2');
  });
  it('Python literals and str()', () => {
    expect(r('{{ None }} {{ True }} {{ False }} {{ none }} {{ true }} {{ [1, "a"] }} {{ {"k": None} }}')).toBe(
      "None True False None True [1, 'a'] {'k': None}",
    );
    expect(r('{{ \'no\' if False else "it\'s" }} {{ ["it\'s"] }} {{ 1.5 }} {{ 2 }}')).toBe('it\'s ["it\'s"] 1.5 2');
  });
  it('Python string methods', () => {
    expect(r("{{ ds.replace('-', '') }} {{ ' x '.strip() }}|{{ 'a b  c'.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'Ab'.upper() }}{{ 'Ab'.lower() }}")).toBe(
      "20250409 x|['a', 'b', 'c'] ['a', 'b,c'] ABab",
    );
    expect(
      r("{{ 'knn'.startswith('kn') }} {{ 'x.csv'.endswith(['.tsv', '.csv']) }} {{ '7'.zfill(3) }} {{ 'hello world'.title() }} {{ '-'.join(['a', 'b']) }}"),
    ).toBe('True True 007 Hello World a-b');
  });
  it('filters people use in Airflow templates', () => {
    expect(r('{{ params | tojson }}')).toBe('{"flag": true, "n": 3, "nested": {"list": [1, "b", null]}, "x": "px"}');
    expect(r("{{ {'html': '<a href=\"x\">&</a>', 'q': \"'\", 'u': 'é'} | tojson }}")).toBe(
      '{"html": "\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e", "q": "\\u0027", "u": "\\u00e9"}',
    );
    expect(r("{{ {'a': [1]} | tojson(indent=2) }}")).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(
      r(
        '{{ logical_date | ds }} {{ logical_date | ds_nodash }} {{ logical_date | ts_nodash }} {{ data_interval_end | ts }} {{ logical_date | ts_nodash_with_tz }}',
      ),
    ).toBe('2025-04-09 20250409 20250409T000000 2025-04-10T00:00:00+00:00 20250409T000000+0000');
    expect(
      r(
        "{{ params.n | int + 1 }} {{ '3.5' | float }} {{ ['b', 'a', 'B'] | unique | join }} {{ [3, 1, 2] | min }}{{ [3, 1, 2] | max }} {{ params | items | length }} {{ [1, 2] | count }}",
      ),
    ).toBe('4 3.5 ba 13 4 2');
    expect(r("{{ '%s-%03d-%.2f' | format('job', 7, 1.5) }} {{ ['a', 'b'] | map('upper') | join }}")).toBe('job-007-1.50 AB');
  });
  it('drops one trailing newline like Jinja (keep_trailing_newline=False)', () => {
    expect(r('{{ ds }}\n')).toBe('2025-04-09');
    expect(r('{{ ds }}\n\n')).toBe('2025-04-09\n');
  });
  it('blocks the constructor route to Function', () => {
    expect(() => r("{{ params.constructor.constructor('return process')() }}")).toThrow(/undefined/);
  });
  it('other nunjucks users in the process keep stock behaviour', () => {
    const plain = new nunjucks.Environment(null, { autoescape: false });
    expect(plain.renderString('[{{ missing.attr }}][{{ none }}][{{ flag }}]', { flag: true })).toBe('[][][true]');
  });
});

describe('renderTemplateFields', () => {
  const where = { taskId: 'train_model', fieldPath: 'config' };

  it('renders nested strings and keeps non-strings', () => {
    const config = {
      TrainingJobName: 'knn-{{ ts_nodash }}',
      RoleArn: "{{ var.value.get('role') }}",
      HyperParameters: { k: '5', feature_dim: 10, enabled: true, none: null },
      InputDataConfig: [{ DataSource: { S3DataSource: { S3Uri: "s3://{{ var.value.get('s3_bucket') }}/{{ ts_nodash }}/train.csv" } } }],
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      When: new Date('2025-01-01T00:00:00Z'),
    };
    const before = structuredClone(config);
    const out = renderTemplateFields(config, ctx, where);
    expect(out).toEqual({
      ...before,
      TrainingJobName: 'knn-20250409T000000',
      RoleArn: 'arn:aws:iam::123456789012:role/sm',
      InputDataConfig: [{ DataSource: { S3DataSource: { S3Uri: 's3://my-bucket/20250409T000000/train.csv' } } }],
    });
    expect(config).toEqual(before); // input untouched
    expect(out.When).toBe(config.When);
  });

  it('leaves strings without template markers exactly as they are', () => {
    const value = { a: 'plain }} text\n', b: 'no {markers} here', c: '{ {ds} }' };
    expect(renderTemplateFields(value, ctx, where)).toEqual(value);
  });

  it('never renders a rendered value again (conf is data)', () => {
    const out = renderTemplateFields(
      { a: '{{ dag_run.conf.evil }}', b: "{{ dag_run.conf['evil'] }}-{{ params.x }}", c: ['{{ dag_run.conf.evil }}'] },
      ctx,
      where,
    );
    expect(out).toEqual({ a: '{{ 7*7 }}', b: '{{ 7*7 }}-px', c: ['{{ 7*7 }}'] });
  });

  it('renders {# comments #} and {% blocks %}', () => {
    expect(renderTemplateFields(['{# c #}x', '{% if params.flag %}on{% else %}off{% endif %}'], ctx, { taskId: 't', fieldPath: 'args' })).toEqual(['x', 'on']);
  });

  it('keeps a "__proto__" key as data', () => {
    const value = JSON.parse('{"__proto__": {"polluted": "{{ ds }}"}}') as Record<string, unknown>;
    const out = renderTemplateFields(value, ctx, where);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: '2025-04-09' });
  });

  it('reports the task, the field path and the template', () => {
    const config = { InputDataConfig: [{ DataSource: { S3DataSource: { S3Uri: 's3://{{ var.value.nope }}/x' } } }] };
    let err: unknown;
    try {
      renderTemplateFields(config, ctx, where);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateRenderError);
    const e = err as TemplateRenderError;
    expect(e.code).toBe('TEMPLATE_RENDER_ERROR');
    expect(e.taskId).toBe('train_model');
    expect(e.fieldPath).toBe('config.InputDataConfig[0].DataSource.S3DataSource.S3Uri');
    expect(e.template).toBe('s3://{{ var.value.nope }}/x');
    expect(e.message).toBe(
      'Task \'train_model\': cannot render field config.InputDataConfig[0].DataSource.S3DataSource.S3Uri (template "s3://{{ var.value.nope }}/x"): Variable nope does not exist',
    );
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('reports syntax errors without nunjucks noise', () => {
    expect(() => renderTemplateFields({ TrainingJobName: 'x-{{ ds ' }, ctx, where)).toThrow(
      /^Task 'train_model': cannot render field config.TrainingJobName \(template "x-\{\{ ds "\): expected variable end$/,
    );
    expect(() => renderTemplateFields({ TrainingJobName: '{% if %}' }, ctx, where)).toThrow(/\): line 1, column 7: unexpected token: %\}$/);
  });

  it('a top-level string field and odd keys', () => {
    expect(renderTemplateFields('{{ ds }}', ctx, { taskId: 't', fieldPath: 'bash_command' })).toBe('2025-04-09');
    expect(() => renderTemplateFields({ 'a.b': ['{{ nope.x }}'] }, ctx, { taskId: 't', fieldPath: 'env' })).toThrow(/field env\["a\.b"\]\[0\]/);
  });
});
