"""Drives a deferflow webserver with Airflow's own Python client (apache-airflow-client 2.x).

Every call goes through the client's typed API classes, so each response is parsed into the
client's models exactly as it would be against Airflow; a shape the client cannot parse raises.
Prints one JSON object of what it saw; exits non-zero with the traceback on any failure.

Usage: python airflow_client_check.py BASE_URL USER PASSWORD DAG_ID TASK_ID
"""
import json
import sys
import time
import traceback

import airflow_client.client as client
from airflow_client.client.api import dag_api, dag_run_api, event_log_api, monitoring_api, task_instance_api, variable_api, x_com_api
from airflow_client.client.exceptions import ApiException
from airflow_client.client.model.dag import DAG
from airflow_client.client.model.dag_run import DAGRun
from airflow_client.client.model.variable import Variable


def main(base_url: str, user: str, password: str, dag_id: str, task_id: str) -> dict:
    conf = client.Configuration(host=f"{base_url}/api/v1", username=user, password=password)
    out: dict = {}
    with client.ApiClient(conf) as api:
        dags = dag_api.DAGApi(api)
        runs = dag_run_api.DAGRunApi(api)
        tis = task_instance_api.TaskInstanceApi(api)
        xcoms = x_com_api.XComApi(api)
        variables = variable_api.VariableApi(api)

        listed = dags.get_dags(limit=100)
        out["dags"] = [d.dag_id for d in listed.dags]
        out["total_entries"] = listed.total_entries

        out["paused"] = dags.patch_dag(dag_id, DAG(is_paused=True), update_mask=["is_paused"]).is_paused
        out["unpaused"] = dags.patch_dag(dag_id, DAG(is_paused=False), update_mask=["is_paused"]).is_paused
        details = dags.get_dag_details(dag_id)
        out["details_timezone"] = details.timezone

        run = runs.post_dag_run(dag_id, DAGRun(dag_run_id="compat_1", conf={"who": "airflow-client"}))
        out["run_id"] = run.dag_run_id
        out["run_conf"] = run.conf
        deadline = time.time() + 120
        while True:
            got = runs.get_dag_run(dag_id, run.dag_run_id)
            state = str(got.state)
            if state in ("success", "failed"):
                break
            if time.time() > deadline:
                raise RuntimeError(f"run still {state} after 120 s")
            time.sleep(0.25)
        out["run_state"] = state

        listed_tis = tis.get_task_instances(dag_id, run.dag_run_id)
        out["task_instances"] = {t.task_id: str(t.state) for t in listed_tis.task_instances}
        ti = tis.get_task_instance(dag_id, run.dag_run_id, task_id)
        out["try_number"] = ti.try_number
        out["hostname_set"] = bool(ti.hostname)
        tries = tis.get_task_instance_tries(dag_id, run.dag_run_id, task_id)
        out["tries"] = [t.try_number for t in tries.task_instances]

        log = tis.get_log(dag_id, run.dag_run_id, task_id, ti.try_number, full_content=True)
        out["log"] = log.content

        entries = xcoms.get_xcom_entries(dag_id, run.dag_run_id, task_id)
        out["xcom_keys"] = [e.key for e in entries.xcom_entries]
        entry = xcoms.get_xcom_entry(dag_id, run.dag_run_id, task_id, "return_value")
        out["xcom_value"] = entry.value
        # Client 2.10's composed XCom model keeps a date-time string twice (as text, and parsed as an
        # additional property), so reading entry.execution_date raises whatever the server sends (it
        # does against Airflow too); the list item carries the same field as plain text.
        out["xcom_execution_date"] = entries.xcom_entries[0].execution_date

        variables.post_variables(Variable(key="compat_var", value="v1", description="set by the client"))
        out["variable_value"] = variables.get_variable("compat_var").value
        out["variable_list_keys"] = [v.key for v in variables.get_variables().variables]
        variables.delete_variable("compat_var")
        try:
            variables.get_variable("compat_var")
            out["variable_after_delete"] = "still there"
        except ApiException as e:
            out["variable_after_delete"] = e.status

        out["event_log_events"] = [e.event for e in event_log_api.EventLogApi(api).get_event_logs(limit=50).event_logs]
        out["version"] = monitoring_api.MonitoringApi(api).get_version().version
        out["health"] = str(monitoring_api.MonitoringApi(api).get_health().metadatabase.status)
    return out


if __name__ == "__main__":
    try:
        print(json.dumps(main(*sys.argv[1:6]), default=str))
    except Exception:  # noqa: BLE001 - report whatever the client raised
        traceback.print_exc()
        sys.exit(1)
