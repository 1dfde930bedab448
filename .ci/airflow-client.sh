# shellcheck shell=bash
# The API compatibility test (test/compat) drives deferflow's webserver with Airflow's own Python
# client, apache-airflow-client (the last 2.x: Airflow 2's stable REST API v1), from PyPI, in a
# venv under ~/.cache/deferflow. CI must not pass without it: a failed install stops the run here
# (and the test itself fails, not skips, when CI is set).

AIRFLOW_CLIENT_VERSION="2.10.0"

airflow_client_ensure() {
  local venv="$HOME/.cache/deferflow/airflow-client-$AIRFLOW_CLIENT_VERSION"
  if ! "$venv/bin/python" -c 'import airflow_client.client' 2>/dev/null; then
    echo "airflow-client: installing apache-airflow-client==$AIRFLOW_CLIENT_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "apache-airflow-client==$AIRFLOW_CLIENT_VERSION"
    "$venv/bin/python" -c 'import airflow_client.client'
  fi
  export DEFERFLOW_AIRFLOW_CLIENT_PYTHON="$venv/bin/python"
}
