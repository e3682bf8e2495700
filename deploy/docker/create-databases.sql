-- One database per service (ARCHITECTURE.md: no service reads another's tables).
CREATE DATABASE lsq_directory;
CREATE DATABASE lsq_feedback;
CREATE DATABASE lsq_evaluation;
CREATE DATABASE lsq_training;
CREATE DATABASE lsq_incentive;
