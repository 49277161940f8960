# pytest-sipfront as a container: the Sipfront gate for GitLab CI, Jenkins, `docker run` and
# GitHub's `uses: docker://...`. Build from the checkout: docker build -t pytest-sipfront .
#
#   docker run --rm -v "$PWD:/work" -e SIPFRONT_PUBLIC_KEY -e SIPFRONT_SECRET_KEY \
#     pytest-sipfront sipfront.yml
#
# No USER: CI systems run jobs with the uid they choose and mount the workspace writable for it
# (GitHub's docker actions need root to write to /github/workspace and $GITHUB_OUTPUT).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/pytest-sipfront
COPY . .
# A local path: the version installed is exactly this checkout's.
RUN pip install --no-cache-dir .

WORKDIR /work
ENTRYPOINT ["python", "-m", "pytest_sipfront.action"]
