{{/*
The release's prefix for its objects' names, at most 46 characters: with the longest suffix
("-worker-metrics", or "-worker-job" plus the "-xxxxx" KEDA's Jobs get) a name stays within the 63 a
Service name (a DNS label) and a Job's name (its job-name label) allow.
*/}}
{{- define "mongo-reports.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 46 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 46 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 46 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mongo-reports.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* helm.sh's recommended labels; pass a dict with "root" and "component". */}}
{{- define "mongo-reports.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mongo-reports.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: mongo-reports
{{- end -}}

{{- define "mongo-reports.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mongo-reports.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mongo-reports.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mongo-reports.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding MONGODB_URI, API_KEYS, WEBHOOK_SECRET: the chart's own or an existing one. */}}
{{- define "mongo-reports.secretName" -}}
{{- default (include "mongo-reports.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "mongo-reports.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/*
The worker's termination grace: its drain (SHUTDOWN_GRACE_MS, running jobs finish) plus the time to
release what did not finish and close; never shorter, so a scale-in never kills a job mid-write.
*/}}
{{- define "mongo-reports.workerTerminationGrace" -}}
{{- add .Values.worker.shutdownGraceSeconds .Values.worker.releaseMarginSeconds -}}
{{- end -}}

{{/* Hardened container settings shared by every container. */}}
{{- define "mongo-reports.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment shared by the API and the workers: the ConfigMap, the Secret, GCS credentials. */}}
{{- define "mongo-reports.envFrom" -}}
- configMapRef:
    name: {{ include "mongo-reports.fullname" . }}
- secretRef:
    name: {{ include "mongo-reports.secretName" . }}
{{- end -}}

{{- define "mongo-reports.gcsEnv" -}}
{{- if .Values.gcs.credentials.existingSecret }}
- name: GCS_KEY_FILE
  value: /var/run/secrets/gcs/{{ .Values.gcs.credentials.key }}
{{- end }}
{{- end -}}

{{- define "mongo-reports.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.gcs.credentials.existingSecret }}
- name: gcs-credentials
  mountPath: /var/run/secrets/gcs
  readOnly: true
{{- end }}
{{- end -}}

{{- define "mongo-reports.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.gcs.credentials.existingSecret }}
- name: gcs-credentials
  secret:
    secretName: {{ .Values.gcs.credentials.existingSecret }}
{{- end }}
{{- end -}}

{{/*
A worker pod's spec, for the pools' Deployments and the ScaledJob's Jobs. Pass a dict with "root",
"pool" (component, values, image, command, env: a list of extra variables) and "job": a Job's pod
serves no metrics (it lives for its requests only) and is not restarted in place (the Job decides).
*/}}
{{- define "mongo-reports.workerPodSpec" -}}
{{- $root := .root -}}
{{- $pool := .pool -}}
serviceAccountName: {{ include "mongo-reports.serviceAccountName" $root }}
automountServiceAccountToken: false
{{- if .job }}
restartPolicy: Never
{{- end }}
# SIGTERM lets running jobs finish for SHUTDOWN_GRACE_MS, then releases the rest for another
# worker; the grace period covers both, so a scale-in never kills a job mid-write.
terminationGracePeriodSeconds: {{ include "mongo-reports.workerTerminationGrace" $root }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
containers:
  - name: worker
    image: {{ include "mongo-reports.image" (dict "root" $root "image" $pool.image) }}
    imagePullPolicy: {{ $pool.image.pullPolicy }}
    command: {{ toJson $pool.command }}
    {{- if not .job }}
    ports:
      - name: metrics
        containerPort: {{ $root.Values.worker.metricsPort }}
        protocol: TCP
    {{- end }}
    envFrom:
      {{- include "mongo-reports.envFrom" $root | nindent 6 }}
    env:
      {{- if not .job }}
      - name: METRICS_PORT
        value: {{ $root.Values.worker.metricsPort | quote }}
      {{- end }}
      {{- with $pool.env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- include "mongo-reports.gcsEnv" $root | nindent 6 }}
    {{- if not .job }}
    # A worker that cannot reach MongoDB exits (UNREACHABLE_EXIT_S) for Kubernetes to restart;
    # this probe catches a process that stopped answering at all.
    livenessProbe:
      tcpSocket:
        port: metrics
      periodSeconds: 20
      failureThreshold: 3
    startupProbe:
      tcpSocket:
        port: metrics
      periodSeconds: 5
      failureThreshold: 60
    {{- end }}
    resources:
      {{- toYaml $pool.values.resources | nindent 6 }}
    securityContext:
      {{- include "mongo-reports.containerSecurityContext" $root | nindent 6 }}
    volumeMounts:
      {{- include "mongo-reports.volumeMounts" $root | nindent 6 }}
volumes:
  {{- include "mongo-reports.volumes" $root | nindent 2 }}
{{- with $pool.values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $pool.values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
