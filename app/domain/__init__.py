"""ERP logic: plain functions over the models and a session. Knows nothing about BPMN or HTTP."""
