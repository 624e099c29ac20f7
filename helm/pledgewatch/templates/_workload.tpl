{{/*
A Deployment of one part that serves no API.
Call with (dict "root" $ "component" "ingest" "spec" .Values.ingest "args" (list ...)).
*/}}
{{- define "pledgewatch.workerDeployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "pledgewatch.fullname" $root }}-{{ .component }}
  labels:
    {{- include "pledgewatch.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ .spec.replicas }}
  selector:
    matchLabels:
      {{- include "pledgewatch.selector" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "pledgewatch.selector" (dict "root" $root "component" .component) | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $root.Values.probes.port | quote }}
    spec:
      serviceAccountName: {{ include "pledgewatch.serviceAccount" $root }}
      automountServiceAccountToken: false
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: {{ .component }}
          image: {{ include "pledgewatch.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          envFrom:
            - configMapRef:
                name: {{ include "pledgewatch.fullname" $root }}-config
          env:
            {{- include "pledgewatch.env" $root | nindent 12 }}
            - name: PLEDGEWATCH_OBSERVABILITY__READINESS_CHECKS
              value: {{ .spec.readinessChecks | toJson | quote }}
            {{- with .extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- include "pledgewatch.workerProbes" $root | nindent 10 }}
          resources:
            {{- toYaml .spec.resources | nindent 12 }}
          securityContext:
            {{- include "pledgewatch.containerSecurity" $root | nindent 12 }}
          volumeMounts:
            {{- include "pledgewatch.volumeMounts" $root | nindent 12 }}
      volumes:
        {{- include "pledgewatch.volumes" $root | nindent 8 }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
