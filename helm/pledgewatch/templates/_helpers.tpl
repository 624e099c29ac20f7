{{/* Name of the release's objects, at most 63 characters. */}}
{{- define "pledgewatch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pledgewatch.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "root" $ "component" "api"). */}}
{{- define "pledgewatch.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pledgewatch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "pledgewatch.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "pledgewatch.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{- define "pledgewatch.appSecret" -}}
{{- if .Values.secrets.create -}}{{ include "pledgewatch.fullname" . }}-app{{- else -}}{{ .Values.secrets.existingApp }}{{- end -}}
{{- end -}}

{{- define "pledgewatch.fabricSecret" -}}
{{- if .Values.secrets.create -}}{{ include "pledgewatch.fullname" . }}-fabric{{- else -}}{{ .Values.secrets.existingFabric }}{{- end -}}
{{- end -}}

{{- define "pledgewatch.readersSecret" -}}
{{- if and .Values.secrets.create .Values.secrets.readersCsv -}}{{ include "pledgewatch.fullname" . }}-readers{{- else -}}{{ .Values.secrets.existingReaders }}{{- end -}}
{{- end -}}

{{- define "pledgewatch.cameraSecret" -}}
{{- if and .Values.secrets.create .Values.secrets.cameraApiKeys -}}{{ include "pledgewatch.fullname" . }}-camera-keys{{- else -}}{{ .Values.secrets.existingCameraKeys }}{{- end -}}
{{- end -}}

{{/* Environment every part shares: settings from the ConfigMap, secrets from the Secret. */}}
{{- define "pledgewatch.env" -}}
- name: PLEDGEWATCH_DB__URL
  valueFrom: {secretKeyRef: {name: {{ include "pledgewatch.appSecret" . }}, key: database-url}}
- name: PLEDGEWATCH_MQTT__URL
  valueFrom: {secretKeyRef: {name: {{ include "pledgewatch.appSecret" . }}, key: mqtt-url}}
- name: PLEDGEWATCH_AUTH__JWT_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "pledgewatch.appSecret" . }}, key: jwt-secret}}
- name: PLEDGEWATCH_LEDGER__LIEN_KEY_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "pledgewatch.appSecret" . }}, key: lien-key-secret}}
- name: PLEDGEWATCH_LEDGER__COMMITMENT_SALT
  valueFrom: {secretKeyRef: {name: {{ include "pledgewatch.appSecret" . }}, key: commitment-salt}}
{{- end -}}

{{/* Container security settings shared by every part. */}}
{{- define "pledgewatch.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Probes of a part that serves no API: the probe server of services/observability. */}}
{{- define "pledgewatch.workerProbes" -}}
ports:
  - name: probes
    containerPort: {{ .Values.probes.port }}
livenessProbe:
  httpGet: {path: /healthz, port: probes}
  periodSeconds: 10
  failureThreshold: 6
readinessProbe:
  httpGet: {path: /readyz, port: probes}
  periodSeconds: 10
  timeoutSeconds: 8
  failureThreshold: 3
startupProbe:
  httpGet: {path: /healthz, port: probes}
  periodSeconds: 5
  failureThreshold: 24
{{- end -}}

{{- define "pledgewatch.volumes" -}}
- name: tmp
  emptyDir: {}
- name: fabric
  secret:
    secretName: {{ include "pledgewatch.fabricSecret" . }}
    optional: {{ ne .Values.config.ledgerKind "fabric" }}
{{- end -}}

{{- define "pledgewatch.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: fabric
  mountPath: /etc/pledgewatch/fabric
  readOnly: true
{{- end -}}
