# pytest-sipfront as a container: the Sipfront gate for GitLab CI, Jenkins, `docker run` and
# GitHub's `uses: docker://...`. Build from the checkout: docker build -t pytest-sipfront .
#
#   docker run --rm -v "$PWD:/work" -e SIPFRONT_PUBLIC_KEY -e SIPFRONT_SECRET_KEY \
#     pytest-sipfront sipfront.yml
#
# No USER: CI systems run jobs with the uid they choose and mount the workspace writable for it
# (GitHub's docker actions need root to write to /github/workspace and $GITHUB_OUTPUT).
FROM python:3.12-slim

# The release workflow passes the version and the repository's address.
ARG VERSION=0.1.0
ARG SOURCE=https://github.com/your-org/pytest-sipfront
LABEL org.opencontainers.image.title="pytest-sipfront" \
      org.opencontainers.image.description="Sipfront gate: run Sipfront SIP/VoIP tests from a manifest and fail the build when they fail" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/pytest-sipfront
COPY . .
# The same hash-pinned set as the GitHub action, then this checkout itself without dependencies:
# the version installed is exactly this checkout's.
RUN pip install --no-cache-dir --require-hashes -r requirements/action.txt \
    && pip install --no-cache-dir --no-deps .

WORKDIR /work
ENTRYPOINT ["python", "-m", "pytest_sipfront.action"]
